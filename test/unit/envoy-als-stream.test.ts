import { status } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { createEnvoyAlsSource, envoyAlsSource, type EnvoyAlsSource } from '../../connectors/sources/envoy-als/source.js';
import { builtinRegistry } from '../../connectors/index.js';
import { validateConnectorBlock } from '../../src/config/connector-config.js';
import { createLogger } from '../../src/logger.js';
import { BackpressureError, type DecodedEntry } from '../../src/sources/types.js';
import { fakeContext, httpEntry, identifier, message, openStream, until, type AlsCall, type FakeContext } from '../support/envoy-als.js';

// Hand-built protobuf messages over a real grpc-js channel to the source: the cases real Envoy
// will not produce on demand.
const sources: EnvoyAlsSource[] = [];
const calls: AlsCall[] = [];

async function start(ctx: FakeContext, port = 0): Promise<{ source: EnvoyAlsSource; address: string }> {
  const source = createEnvoyAlsSource({ port }, ctx);
  await source.start();
  sources.push(source);
  return { source, address: `127.0.0.1:${source.address()!.port}` };
}

function open(address: string): AlsCall {
  const c = openStream(address);
  calls.push(c);
  return c;
}

afterEach(async () => {
  for (const c of calls.splice(0)) c.close();
  for (const s of sources.splice(0)) await s.stop();
});

const nodesOf = (ctx: FakeContext) => ctx.exchanges().map((x) => x.gateway.node);

describe('envoy-als stream lifecycle', () => {
  it('remembers the identifier of a stream for the batches that follow it', async () => {
    const ctx = fakeContext();
    const { source, address } = await start(ctx);
    const c = open(address);
    await c.write(message([httpEntry({ id: 'a' })], identifier('edge-1', 'api')));
    await c.write(message([httpEntry({ id: 'b' }), httpEntry({ id: 'c' })]));
    await until('3 exchanges', () => ctx.exchanges().length, (n) => n === 3);
    expect(nodesOf(ctx)).toEqual(['edge-1', 'edge-1', 'edge-1']);
    expect(ctx.exchanges().map((x) => x.request.id)).toEqual(['a', 'b', 'c']);
    expect(source.stats()).toMatchObject({ streams: 1, activeStreams: 1, messages: 2, entries: 3, exchanges: 3, malformed: 0 });
    // GET /sources shows the same counters, and where it listens.
    expect(source.status!()).toMatchObject({ state: 'running', position: { listening: address, activeStreams: 1, entries: 3, exchanges: 3 } });
  });

  it('skips a malformed message, counts it, and keeps the stream up', async () => {
    const ctx = fakeContext();
    const { source, address } = await start(ctx);
    const c = open(address);
    await c.write(message([httpEntry({ id: 'before' })], identifier('edge-1')));
    await c.write(Buffer.from([0x12, 0xff, 0x01, 0x0a])); // http_logs claims 255 bytes; 2 follow
    await c.write(message([httpEntry({ id: 'after' })]));
    await until('2 exchanges', () => ctx.exchanges().length, (n) => n === 2);
    expect(ctx.exchanges().map((x) => [x.request.id, x.gateway.node])).toEqual([['before', 'edge-1'], ['after', 'edge-1']]);
    expect(source.stats()).toMatchObject({ messages: 3, malformed: 1, activeStreams: 1 });
  });

  it('keeps a stream without identifier, with gateway.node null, and counts it', async () => {
    const ctx = fakeContext();
    const { source, address } = await start(ctx);
    const c = open(address);
    await c.write(message([httpEntry({ id: 'x' })]));
    await until('1 exchange', () => ctx.exchanges().length, (n) => n === 1);
    expect(nodesOf(ctx)).toEqual([null]);
    expect(source.stats().missingIdentifier).toBe(1);
  });

  it('stores entries that are not exchanges as dead letters and skips periodic ones', async () => {
    const ctx = fakeContext();
    const { source, address } = await start(ctx);
    const c = open(address);
    const bad = httpEntry({ id: 'bad' });
    delete bad.response!.responseCode;
    const periodic = httpEntry({ id: 'periodic' });
    periodic.commonProperties!.accessLogType = 'DownstreamPeriodic';
    await c.write(message([httpEntry({ id: 'ok' }), bad, periodic], identifier('edge-1')));
    await until('a batch', () => ctx.batches.length, (n) => n === 1);
    const [ok, dead] = ctx.batches[0]!;
    expect(ctx.batches[0]).toHaveLength(2);
    expect(ok!.ok).toBe(true);
    expect(dead).toMatchObject({ ok: false, diagnostic: { code: 'RX302', pointer: '/httpLogs/logEntry/1/response/responseCode' } });
    expect(source.stats()).toMatchObject({ entries: 3, exchanges: 1, deadLetters: 1, skipped: 1 });
  });

  it('takes a batch of 5,000 entries, committed in transactions of at most 1,000', async () => {
    const ctx = fakeContext();
    const { source, address } = await start(ctx);
    const c = open(address);
    const entries = Array.from({ length: 5_000 }, (_, i) => httpEntry({ id: `big-${i}`, body: { customerId: 'c1', items: [{ sku: `SKU-${i}`, quantity: 1 }] } }));
    await c.write(message(entries, identifier('edge-1')));
    await until('5000 exchanges', () => ctx.exchanges().length, (n) => n === 5_000, 20_000);
    expect(ctx.batches.map((b) => b.length)).toEqual([1_000, 1_000, 1_000, 1_000, 1_000]);
    expect(ctx.exchanges()[4_999]!.request.body).toEqual({ customerId: 'c1', items: [{ sku: 'SKU-4999', quantity: 1 }] });
    expect(source.stats().exchanges).toBe(5_000);
  });

  it('serves several Envoy nodes at once, each stream with its own identifier', async () => {
    const ctx = fakeContext();
    const { source, address } = await start(ctx);
    const nodes = ['edge-a', 'edge-b', 'edge-c'];
    const streams = nodes.map(() => open(address));
    await Promise.all(streams.map((c, i) => c.write(message([httpEntry({ id: `${nodes[i]}-0` })], identifier(nodes[i]!)))));
    for (let round = 1; round <= 3; round++) {
      await Promise.all(streams.map((c, i) => c.write(message([httpEntry({ id: `${nodes[i]}-${round}` })]))));
    }
    await until('12 exchanges', () => ctx.exchanges().length, (n) => n === 12);
    for (const x of ctx.exchanges()) expect(x.request.id.startsWith(`${x.gateway.node}-`)).toBe(true);
    expect(source.stats()).toMatchObject({ streams: 3, activeStreams: 3 });
  });

  it('on a half-closed stream, commits what was sent, then answers OK', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const ctx = fakeContext(() => held);
    const { source, address } = await start(ctx);
    const c = open(address);
    await c.write(message([httpEntry({ id: 'last' })], identifier('edge-1')));
    c.call.end();
    let answered = false;
    void c.done.then(() => (answered = true));
    await until('ingest', () => ctx.batches.length, (n) => n === 1);
    await new Promise((r) => setTimeout(r, 100));
    expect(answered).toBe(false); // not before the batch is committed
    release();
    expect((await c.done).error).toBeNull();
    expect(source.stats().activeStreams).toBe(0);
  });

  it('ends a stream whose batch cannot be stored; Envoy reconnects on a new stream', async () => {
    let fail = true;
    const ctx = fakeContext(async () => {
      if (fail) throw new Error('disk full');
    });
    const { source, address } = await start(ctx);
    const first = open(address);
    await first.write(message([httpEntry({ id: 'lost' })], identifier('edge-1')));
    expect((await first.done).error?.code).toBe(status.INTERNAL);
    fail = false;
    const again = open(address);
    await again.write(message([httpEntry({ id: 'kept' })], identifier('edge-1')));
    await until('1 exchange after the failure', () => ctx.batches.length, (n) => n === 2);
    expect(ctx.batches[1]!.map((e) => e.ok && e.exchange.request.id)).toEqual(['kept']);
    expect(source.stats()).toMatchObject({ streams: 2, activeStreams: 1 });
  });

  it('reconnects after reflex dropped its streams (restart on the same port)', async () => {
    const ctx = fakeContext();
    const { source, address } = await start(ctx);
    const port = source.address()!.port;
    const first = open(address);
    await first.write(message([httpEntry({ id: 'one' })], identifier('edge-1')));
    await until('1 exchange', () => ctx.exchanges().length, (n) => n === 1);
    await source.stop();
    sources.splice(sources.indexOf(source), 1);
    expect((await first.done).error).not.toBeNull();
    await start(ctx, port);
    const second = open(address);
    await second.write(message([httpEntry({ id: 'two' })], identifier('edge-1')));
    await until('2 exchanges', () => ctx.exchanges().length, (n) => n === 2);
    expect(ctx.exchanges().map((x) => x.request.id)).toEqual(['one', 'two']);
  });

  it('does not read the next message while a commit is pending', async () => {
    const gates: Array<() => void> = [];
    const ctx = fakeContext(() => new Promise<void>((r) => gates.push(r)));
    const { address } = await start(ctx);
    const c = open(address);
    await c.write(message([httpEntry({ id: 'm1' })], identifier('edge-1')));
    void c.write(message([httpEntry({ id: 'm2' })]));
    void c.write(message([httpEntry({ id: 'm3' })]));
    await until('first ingest', () => ctx.batches.length, (n) => n === 1);
    await new Promise((r) => setTimeout(r, 200));
    expect(ctx.batches).toHaveLength(1);
    gates.shift()!();
    await until('second ingest', () => ctx.batches.length, (n) => n === 2);
    await new Promise((r) => setTimeout(r, 100));
    expect(ctx.batches).toHaveLength(2);
    gates.shift()!();
    await until('third ingest', () => ctx.batches.length, (n) => n === 3);
    gates.shift()!();
    expect(ctx.batches.map((b) => (b[0]!.ok ? b[0]!.exchange.request.id : null))).toEqual(['m1', 'm2', 'm3']);
  });

  it('retries the same batch after Retry-After when a sink is behind', async () => {
    let refusals = 0;
    const ctx = fakeContext(async () => {
      if (refusals++ < 2) throw new BackpressureError('sink behind', 0.1);
    });
    const { source, address } = await start(ctx);
    const c = open(address);
    await c.write(message([httpEntry({ id: 'p1' }), httpEntry({ id: 'p2' })], identifier('edge-1')));
    await c.write(message([httpEntry({ id: 'p3' })]));
    await until('4 ingest calls', () => ctx.batches.length, (n) => n === 4);
    const ids = (b: DecodedEntry[]) => b.map((e) => (e.ok ? e.exchange.request.id : null));
    expect(ctx.batches.map(ids)).toEqual([['p1', 'p2'], ['p1', 'p2'], ['p1', 'p2'], ['p3']]);
    expect(source.stats()).toMatchObject({ backpressureWaits: 1, exchanges: 3 }); // one batch waited (twice)
  });

  it('stop() waits for the batch being committed', async () => {
    let release!: () => void;
    let committed = false;
    const ctx = fakeContext(async () => {
      await new Promise<void>((r) => (release = r));
      committed = true;
    });
    const { source, address } = await start(ctx);
    const c = open(address);
    await c.write(message([httpEntry()], identifier('edge-1')));
    await until('ingest', () => ctx.batches.length, (n) => n === 1);
    const stopped = source.stop();
    sources.splice(sources.indexOf(source), 1);
    setTimeout(() => release(), 100);
    await stopped;
    expect(committed).toBe(true);
  });

  it('without tls binds loopback only whatever host is configured, and says so', async () => {
    const lines: string[] = [];
    const ctx = fakeContext(undefined, createLogger({ write: (l) => lines.push(l) }));
    const source = createEnvoyAlsSource({ host: '0.0.0.0', port: 0 }, ctx);
    await source.start();
    sources.push(source);
    expect(source.address()!.host).toBe('127.0.0.1');
    expect(lines.join('\n')).toMatch(/loopback only: no tls configured, so host 0\.0\.0\.0 is not used/);
  });

  it('declares its config: port 9001 by default, tls needs cert and key', () => {
    const registry = builtinRegistry();
    const validated = validateConnectorBlock('source', { type: 'envoy-als' }, envoyAlsSource, registry) as Parameters<typeof envoyAlsSource.instanceName>[0];
    expect(envoyAlsSource.instanceName(validated)).toBe('envoy-als:9001');
    const props = envoyAlsSource.configSchema.properties as Record<string, { default?: unknown; required?: string[] }>;
    expect(props.port!.default).toBe(9001);
    expect(props.tls!.required).toEqual(['cert', 'key']);
    expect(() => createEnvoyAlsSource({ tls: { cert: 'c.pem', key: 'k.pem', requireClientCert: true } }, fakeContext())).toThrow(/requireClientCert needs tls.ca/);
  });
});
