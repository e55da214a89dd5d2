import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@elastic/elasticsearch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { builtinRegistry } from '../../connectors/index.js';
import { elasticsearchSource } from '../../connectors/sources/elasticsearch/source.js';
import { defaultConfig, type ConnectorBlock } from '../../src/config/types.js';
import { createLogger, silentLogger, type Logger } from '../../src/logger.js';
import { startReflex, type RunningReflex } from '../../src/runtime.js';
import { sourceContext } from '../../src/sources/host.js';
import type { DecodedEntry } from '../../src/sources/types.js';
import { loadSpecSet } from '../../src/spec/compile.js';
import type { CompiledSpecSet } from '../../src/spec/types.js';
import { startElasticsearch, type ElasticsearchTestbed } from '../../testbed/elasticsearch.js';
import { sourceConformance } from '../support/conformance/source.js';
import { kongLog } from '../support/kong-log.js';
import { ROOT, startReflexProcess } from '../support/reflex-process.js';

// A real Elasticsearch: the 8.19.7 integ-test zip (testbed/elasticsearch.ts), fetched with Maven on the first run.
let es: ElasticsearchTestbed;
let client: Client;
let specs: CompiledSpecSet;
let dir: string;
const run = `essrc${Date.now()}`;
const running: RunningReflex[] = [];
let prefixes = 0;

beforeAll(async () => {
  es = await startElasticsearch();
  client = new Client({ node: es.url });
  specs = await loadSpecSet([`${ROOT}examples/shop/openapi.yaml`]);
  dir = mkdtempSync(join(tmpdir(), 'reflex-es-source-'));
}, 300_000);
afterAll(async () => {
  for (const r of running) await r.stop();
  await client?.close();
  await es?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A fresh index prefix per test; its indices are `<prefix>-<day>`, read through `<prefix>-*`. */
const newPrefix = () => `${run}-${++prefixes}`;

const T0 = Date.parse('2026-11-02T09:00:00Z');
/** A Kong log of POST /v1/orders → 201 as a shipper indexes it (with `@timestamp`): the shop spec makes one OrderPlaced of it. */
function orderDoc(orderId: string, at: number): Record<string, unknown> {
  const order = { id: orderId, customerId: 'cus_1001', status: 'pending', currency: 'EUR', total: 24.9, items: [{ sku: 'MUG', quantity: 1, unitPrice: 24.9 }] };
  const log = kongLog({ id: `req-${run}-${orderId}`, startedAt: at, method: 'POST', path: '/v1/orders', status: 201, requestBody: { customerId: order.customerId, items: order.items }, responseBody: order });
  return { '@timestamp': new Date(at).toISOString(), ...log };
}

/** The same exchange as an Elastic Common Schema HTTP document (format `ecs`), as Filebeat or Elastic Agent index it. */
function ecsOrderDoc(orderId: string, at: number): Record<string, unknown> {
  const order = { id: orderId, customerId: 'cus_1001', status: 'pending', currency: 'EUR', total: 24.9, items: [{ sku: 'MUG', quantity: 1, unitPrice: 24.9 }] };
  return {
    '@timestamp': new Date(at).toISOString(),
    event: { duration: 23_000_000 },
    url: { path: '/v1/orders', domain: 'api.shop.example', scheme: 'https' },
    http: {
      request: { id: `req-${run}-${orderId}`, method: 'post', mime_type: 'application/json', body: { content: JSON.stringify({ customerId: order.customerId, items: order.items }) } },
      response: { status_code: 201, mime_type: 'application/json', body: { content: JSON.stringify(order) } },
    },
    client: { ip: '203.0.113.7' },
    observer: { product: 'kong' },
  };
}

async function bulk(index: string, docs: Array<Record<string, unknown>>): Promise<void> {
  for (let i = 0; i < docs.length; i += 5_000) {
    const res = await client.bulk({ refresh: true, operations: docs.slice(i, i + 5_000).flatMap((d) => [{ index: { _index: index } }, d]) });
    if (res.errors) throw new Error(`bulk failed: ${JSON.stringify(res.items.find((x) => x.index?.error))}`);
  }
}

const ids = (p: string, n: number) => Array.from({ length: n }, (_, i) => `${p}${i}`);

function sourceBlock(index: string, extra: Record<string, unknown> = {}): ConnectorBlock {
  return { type: 'elasticsearch', format: 'kong', node: es.url, index, pollInterval: '200ms', ...extra };
}

async function start(source: ConnectorBlock, db: string, logger: Logger = silentLogger): Promise<RunningReflex> {
  const config = defaultConfig();
  config.server.port = 0;
  config.store.path = join(dir, db);
  config.cdc.reorderWindowMs = 0;
  config.sources = [source];
  const r = await startReflex(config, specs, builtinRegistry(), logger);
  running.push(r);
  return r;
}

async function stop(r: RunningReflex) {
  await r.stop();
  running.splice(running.indexOf(r), 1);
}

async function until<T>(what: string, get: () => T | Promise<T>, done: (v: T) => boolean, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await get();
    if (done(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v).slice(0, 2000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const orderIds = (r: RunningReflex) => r.store.read('orders', 0, 100_000).map((rec) => (rec.value as { data: { orderId: string } }).data.orderId);
const settle = () => new Promise((r) => setTimeout(r, 1_500)); // several polls: anything read twice would show up by now

function capture(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  return { logger: createLogger({ level: 'info', json: true, write: (l) => lines.push(l) }), lines };
}

const readyz = async (r: RunningReflex) => {
  const res = await fetch(`${r.url}/readyz`);
  return { status: res.status, body: (await res.json()) as { status: string; sources?: Array<{ code: string }> } };
};

describe('elasticsearch source', () => {
  it('reads ECS documents from two daily indices through a pattern (one created after it started), a late document with an older timestamp once, and a document that is no log as a dead letter naming index and _id', async () => {
    const p = newPrefix();
    await bulk(`${p}-2026.11.02`, ids('day1-', 3).map((id, i) => ecsOrderDoc(id, T0 + i * 1000)));
    const r = await start(sourceBlock(`${p}-*`, { format: 'ecs' }), 'daily.db');
    await until('3 orders', () => orderIds(r), (got) => got.length >= 3);

    await bulk(`${p}-2026.11.03`, ids('day2-', 3).map((id, i) => ecsOrderDoc(id, T0 + 86_400_000 + i * 1000)));
    await until('6 orders', () => orderIds(r), (got) => got.length >= 6);

    // Indexed now, timestamped before the checkpoint (a shipper that was down): within the lookback.
    await bulk(`${p}-2026.11.03`, [ecsOrderDoc('late', T0 + 86_400_000 - 1000)]);
    const bad = await client.index({ index: `${p}-2026.11.03`, document: { '@timestamp': new Date(T0 + 86_400_000 + 10_000).toISOString(), message: 'not a gateway log' }, refresh: true });
    await until('7 orders', () => orderIds(r), (got) => got.length >= 7);
    await until('the dead letter', () => r.store.deadLetters(0, 10), (d) => d.length >= 1);
    await settle();
    expect(orderIds(r).sort()).toEqual([...ids('day1-', 3), ...ids('day2-', 3), 'late'].sort());
    const dead = r.store.deadLetters(0, 10);
    expect(dead).toHaveLength(1);
    expect(JSON.stringify(dead[0])).toContain(`elasticsearch:${p}-2026.11.03/${bad._id}`);

    const sources = await fetch(`${r.url}/sources`).then((x) => x.json() as Promise<Array<{ type: string; state: string; position: { timestamp: string }; read: { documents: number } }>>);
    const me = sources.find((s) => s.type === 'elasticsearch')!;
    expect(me).toMatchObject({ state: 'idle', read: { documents: 8 }, position: { timestamp: new Date(T0 + 86_400_000 + 10_000).toISOString() } });
    await stop(r);

    // After a restart the lookback is read again and the dedupe window drops all of it.
    const again = await start(sourceBlock(`${p}-*`, { format: 'ecs' }), 'daily.db');
    await settle();
    expect(orderIds(again)).toHaveLength(7);
    await stop(again);
  }, 60_000);

  it('pages 50k documents with search_after (in process, each once and in timestamp order)', async () => {
    const p = newPrefix();
    const n = 50_000;
    await bulk(`${p}-2026.11.02`, Array.from({ length: n }, (_, i) => ({ '@timestamp': new Date(T0 + i).toISOString(), request: { id: `r${i}` } })));
    const got: string[] = [];
    const { context, stopping } = sourceContext({
      name: 'es-50k', logger: silentLogger, format: fakeFormat, decodeOptions: {}, http: { post: () => undefined },
      commit: async (entries: DecodedEntry[], cp) => {
        for (const e of entries) if (e.ok) got.push(e.exchange.request.id);
        checkpoint = cp ?? checkpoint;
        return { accepted: entries.length, duplicates: 0, records: 0, deadLetters: 0, unmatched: 0, appended: new Map() };
      },
      getCheckpoint: () => checkpoint,
    });
    let checkpoint: string | null = null;
    const source = elasticsearchSource.create(settings({ index: `${p}-*`, batchSize: 5_000 }), context);
    const t0 = Date.now();
    await source.start();
    await until('50k documents', () => got.length, (k) => k >= n, 45_000);
    const ms = Date.now() - t0;
    await new Promise((r) => setTimeout(r, 600));
    stopping.abort();
    await source.stop();
    expect(got).toHaveLength(n);
    expect(got[0]).toBe('r0');
    expect(got.at(-1)).toBe(`r${n - 1}`);
    expect(new Set(got).size).toBe(n);
    expect(ms).toBeLessThan(45_000);
  }, 90_000);

  it('an expired point in time is reopened and the search resumes from the checkpoint, not from the start', async () => {
    const p = newPrefix();
    await bulk(`${p}-2026.11.02`, Array.from({ length: 30 }, (_, i) => ({ '@timestamp': new Date(T0 + i * 1000).toISOString(), request: { id: `r${i}` } })));
    const got: string[] = [];
    const { logger, lines } = capture();
    let checkpoint: string | null = null;
    let batches = 0;
    const { context, stopping } = sourceContext({
      name: 'es-pit', logger, format: fakeFormat, decodeOptions: {}, http: { post: () => undefined },
      commit: async (entries: DecodedEntry[], cp) => {
        // The first page takes longer than the point in time lives (keepAlive 1s; the test server reaps every 1s).
        if (++batches === 1) await new Promise((r) => setTimeout(r, 3_500));
        for (const e of entries) if (e.ok) got.push(e.exchange.request.id);
        checkpoint = cp ?? checkpoint;
        return { accepted: entries.length, duplicates: 0, records: 0, deadLetters: 0, unmatched: 0, appended: new Map() };
      },
      getCheckpoint: () => checkpoint,
    });
    const source = elasticsearchSource.create(settings({ index: `${p}-*`, batchSize: 10, keepAlive: '1s', lookback: '0s' }), context);
    await source.start();
    await until('30 documents', () => got.length, (k) => k >= 30, 20_000);
    await new Promise((r) => setTimeout(r, 600));
    stopping.abort();
    await source.stop();
    expect(lines.some((l) => l.includes('point in time expired'))).toBe(true);
    expect(got).toEqual(Array.from({ length: 30 }, (_, i) => `r${i}`));
  }, 30_000);

  it('errors: an unreachable node, an index pattern matching nothing (read once it exists), a mapping without the timestamp field: one log line each, /readyz 503 with the code', async () => {
    const unreachable = capture();
    const r1 = await start(sourceBlock('x-*', { node: 'http://127.0.0.1:1' }), 'unreachable.db', unreachable.logger);
    await until('/readyz degraded', () => readyz(r1), (a) => a.status === 503 && a.body.sources?.[0]?.code === 'unreachable');
    await stop(r1);
    expect(unreachable.lines.filter((l) => l.includes('cannot read'))).toHaveLength(1);

    const p = newPrefix();
    const none = capture();
    const r2 = await start(sourceBlock(`${p}-*`), 'none.db', none.logger);
    await until('/readyz degraded', () => readyz(r2), (a) => a.status === 503 && a.body.sources?.[0]?.code === 'no_matching_index');
    await new Promise((r) => setTimeout(r, 2_500)); // a few retries: still one line
    expect(none.lines.filter((l) => l.includes('cannot read'))).toHaveLength(1);
    expect(none.lines.find((l) => l.includes('cannot read'))).toContain(`no index matches ${p}-*`);
    await bulk(`${p}-2026.11.02`, [orderDoc('first', T0)]);
    await until('1 order', () => orderIds(r2), (got) => got.length >= 1, 30_000);
    await until('/readyz ready', () => readyz(r2), (a) => a.status === 200);
    await stop(r2);

    const q = newPrefix();
    await bulk(`${q}-2026.11.02`, [{ time: new Date(T0).toISOString(), request: { id: 'x' } }]);
    const unmapped = capture();
    const r3 = await start(sourceBlock(`${q}-*`), 'unmapped.db', unmapped.logger);
    await until('/readyz degraded', () => readyz(r3), (a) => a.status === 503 && a.body.sources?.[0]?.code === 'timestamp_not_mapped');
    expect(unmapped.lines.find((l) => l.includes('cannot read'))).toContain('@timestamp');
    await stop(r3);
  }, 90_000);
});

describe('elasticsearch source with wrong credentials', () => {
  // A second, real Elasticsearch with security on and no user set up: every request answers 401.
  let secured: ElasticsearchTestbed | undefined;
  afterAll(async () => {
    await secured?.stop();
  });

  it('logs unauthorized once with a hint, /readyz answers 503 with the code, and it keeps retrying without crashing', async () => {
    secured = await startElasticsearch({ security: true, reuse: false });
    const log = capture();
    const r = await start(sourceBlock('logs-*', { node: secured.url, auth: { username: 'elastic', password: 'wrong' } }), 'unauthorized.db', log.logger);
    await until('/readyz degraded', () => readyz(r), (a) => a.status === 503 && a.body.sources?.[0]?.code === 'unauthorized', 60_000);
    await new Promise((res) => setTimeout(res, 2_500)); // a few retries: still one line
    const lines = log.lines.filter((l) => l.includes('cannot read'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/unauthorized/);
    const sources = (await (await fetch(`${r.url}/sources`)).json()) as Array<{ state: string; lastError?: { code: string } }>;
    expect(sources.find((s) => s.lastError)).toMatchObject({ state: 'degraded', lastError: { code: 'unauthorized' } });
    await stop(r);
  }, 240_000);
});

describe('elasticsearch source under kill -9', () => {
  it('resumes after kill -9 of the compiled CLI mid-read: every document stored exactly once', async () => {
    const p = newPrefix();
    const all = ids('k9-', 4000);
    await bulk(`${p}-2026.11.02`, all.map((id, i) => orderDoc(id, T0 + i)));
    const data = mkdtempSync(join(dir, 'kill9-'));
    const config = join(data, 'reflex.yaml');
    writeFileSync(config, stringify({
      specs: [`${ROOT}examples/shop/openapi.yaml`],
      store: { path: join(data, 'reflex.db') },
      cdc: { reorderWindow: '0' },
      sources: [{ ...sourceBlock(`${p}-*`), batchSize: 50 }],
    }));
    const entries = async (url: string) => {
      const res = await fetch(`${url}/sources`).then((x) => x.json() as Promise<Array<{ type: string; read: { entries: number } }>>).catch(() => []);
      return res.find((s) => s.type === 'elasticsearch')?.read.entries ?? 0;
    };
    const first = await startReflexProcess(['--config', config]);
    await until('500 entries', () => entries(first.url), (k) => k >= 500, 60_000);
    await first.kill9();
    const last = await startReflexProcess(['--config', config]);
    const orders = async () => {
      const got: string[] = [];
      for (let after = 0; ; ) {
        const page = await fetch(`${last.url}/streams/orders/events?after=${after}&limit=1000`).then((x) => x.json() as Promise<Array<{ offset: number; value: { data: { orderId: string } } }>>);
        if (page.length === 0) return got;
        got.push(...page.map((e) => e.value.data.orderId));
        after = page.at(-1)!.offset;
      }
    };
    await until('4000 orders', orders, (got) => got.length >= all.length, 90_000);
    await settle();
    const got = await orders();
    expect(got).toHaveLength(all.length);
    expect(new Set(got)).toEqual(new Set(all));
    await last.stop();
  }, 180_000);
});

/** Decodes `{request: {id}}` only: the paging tests measure the source, not a log format. */
const fakeFormat = {
  name: 'ids', summary: 'test', decode(payload: string): DecodedEntry[] {
    const doc = JSON.parse(payload) as { request: { id: string }; '@timestamp': string };
    return [{ ok: true, raw: doc, exchange: { request: { id: doc.request.id, time: doc['@timestamp'] } } as never }];
  },
};

/** A block with the schema's defaults, as the host hands it to create(). */
function settings(extra: Record<string, unknown>) {
  return { node: es.url, index: 'x', timestampField: '@timestamp', tiebreaker: '_shard_doc', pollInterval: '200ms', lookback: '5m', batchSize: 1000, keepAlive: '1m', ...extra } as never;
}

let conformanceIndices = 0;
sourceConformance('elasticsearch', {
  connector: elasticsearchSource,
  // lookback 0s: the suite's recording store has no dedupe window, and a restart reads the lookback again (the store drops it; see README).
  config: () => ({ ...sourceBlock(`${run}-conf-${++conformanceIndices}-*`, { name: `es-conformance-${conformanceIndices}`, lookback: '0s' }) }) as Record<string, unknown>,
  async send(instance, batch) {
    const pattern = instance.settings.index as string;
    const at = Date.now();
    await bulk(pattern.replace('*', '2026.11.02'), batch.map((id, i) => ({ '@timestamp': new Date(at + i).toISOString(), ...kongLog({ id, startedAt: at + i, method: 'GET', path: '/v1/orders/1', status: 200 }) })));
    return true;
  },
  pickupMs: 20_000,
  badConfigs: [
    { what: 'no node', block: { format: 'kong', index: 'logs-*' }, message: /node/ },
    { what: 'no index', block: { format: 'kong', node: 'http://127.0.0.1:9200' }, message: /must have required property 'index'/ },
    { what: 'a pollInterval that is no duration', block: { format: 'kong', node: 'http://127.0.0.1:9200', index: 'x', pollInterval: 'soon' }, pointer: '/pollInterval', message: /pollInterval must match pattern/ },
  ],
});
