import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinRegistry } from '../../connectors/index.js';
import { defaultConfig, type ReflexConfig } from '../../src/config/types.js';
import { silentLogger } from '../../src/logger.js';
import { startReflex, type RunningReflex } from '../../src/runtime.js';
import { isLoopbackHost } from '../../src/server/loopback-host.js';
import { loadSpecSet } from '../../src/spec/compile.js';
import { kongLog } from '../support/kong-log.js';

const dirs: string[] = [];
const running: RunningReflex[] = [];
afterAll(async () => {
  for (const r of running) await r.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function start(change: (c: ReflexConfig) => void = () => undefined): Promise<RunningReflex> {
  const dir = mkdtempSync(join(tmpdir(), 'reflex-http-'));
  dirs.push(dir);
  const config = defaultConfig();
  config.server.port = 0;
  config.store.path = join(dir, 'reflex.db');
  config.cdc.reorderWindowMs = 0;
  change(config);
  const r = await startReflex(config, await loadSpecSet(['examples/shop/openapi.yaml']), builtinRegistry(), silentLogger);
  running.push(r);
  return r;
}

interface Answer { status: number; headers: IncomingHttpHeaders; body: any }

/** One request on its own connection (node:http, so that Host can be anything). */
function call(url: string, path: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: hostname, port, path, method: options.method ?? 'GET', headers: options.headers ?? {}, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => {
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // not JSON
        }
        resolve({ status: res.statusCode!, headers: res.headers, body });
      });
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

const customer = (id: string) => JSON.stringify([kongLog({ id, startedAt: Date.parse('2026-11-03T08:00:00Z'), method: 'POST', path: '/v1/customers', status: 201,
  requestBody: { email: `${id}@example.com`, name: id }, responseBody: { id: `cus_${id}`, email: `${id}@example.com`, name: id } })]);
const JSON_TYPE = { 'content-type': 'application/json' };
const count = async (url: string, stream: string) =>
  ((await call(url, '/streams')).body as Array<{ name: string; count: number }>).find((s) => s.name === stream)!.count;

describe('Host check (DNS rebinding) without credentials', () => {
  it('knows the loopback names and addresses, with or without port', () => {
    for (const host of ['localhost', 'localhost:8088', 'LOCALHOST.', 'app.localhost:3000', '127.0.0.1', '127.8.9.10:80', '[::1]', '[::1]:8088', '[::ffff:127.0.0.1]:1', '0.0.0.0:8088', '[::]:8088'])
      expect(isLoopbackHost(host), host).toBe(true);
    for (const host of [undefined, '', 'evil.example', 'evil.example:8088', 'localhost.evil.example', '127.0.0.1.nip.io', '10.0.0.1', '0.1.2.3', '127.1', '[::2]', '[fe80::1]:80', 'localhost@evil', 'a b'])
      expect(isLoopbackHost(host), String(host)).toBe(false);
  });

  it('refuses API and ingest requests addressed to a foreign Host, explaining the fix; health stays open', async () => {
    const r = await start();
    const evil = { host: 'rebind.evil.example:8088' };
    const created = await call(r.url, '/webhooks', { method: 'POST', headers: { ...evil, ...JSON_TYPE }, body: JSON.stringify({ url: 'https://hooks.example/x', streams: ['*'] }) });
    expect(created.status).toBe(403);
    expect(created.body).toMatchObject({ code: 'HOST_NOT_LOOPBACK' });
    expect(created.body.error).toContain("Host 'rebind.evil.example:8088' is not a loopback name");
    expect(created.body.error).toContain('server.apiAuth');
    expect((await call(r.url, '/streams', { headers: evil })).status).toBe(403);
    const ingested = await call(r.url, '/ingest/kong', { method: 'POST', headers: { ...evil, ...JSON_TYPE }, body: customer('rebind') });
    expect(ingested.status).toBe(403);
    expect(ingested.body.error).toContain('server.ingestAuth');
    expect((await call(r.url, '/healthz', { headers: evil })).status).toBe(200);

    // Nothing was registered or stored; loopback names get through.
    const port = new URL(r.url).port;
    expect((await call(r.url, '/webhooks')).body).toEqual([]);
    expect(await count(r.url, 'customers')).toBe(0);
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, 'reflex.localhost']) {
      expect((await call(r.url, '/streams', { headers: { host } })).status, host).toBe(200);
    }
    expect((await call(r.url, '/ingest/kong', { method: 'POST', headers: { host: `localhost:${port}`, ...JSON_TYPE }, body: customer('local') })).status).toBe(200);
  });

  it('with server.apiAuth, the credential is what counts, whatever the Host', async () => {
    const token = 'api-token-0123456789abcdef';
    const r = await start((c) => (c.server.apiAuth = { token }));
    expect((await call(r.url, '/streams', { headers: { host: 'reflex.example.com', authorization: `Bearer ${token}` } })).status).toBe(200);
  });
});

describe('ingest media types', () => {
  let r: RunningReflex;
  beforeAll(async () => {
    r = await start();
  });

  it('refuses what a web page can send without a preflight (text/plain, form data, no type): 415 naming the accepted types', async () => {
    for (const headers of [{ 'content-type': 'text/plain;charset=UTF-8' }, { 'content-type': 'multipart/form-data; boundary=x' },
      { 'content-type': 'application/x-www-form-urlencoded' }, {} as Record<string, string>]) {
      const res = await call(r.url, '/ingest/kong', { method: 'POST', headers, body: customer('simple') });
      expect(res.status, JSON.stringify(headers)).toBe(415);
      expect(res.body).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE', error: expect.stringContaining('application/json, application/x-ndjson') });
    }
    expect(await count(r.url, 'customers')).toBe(0);
  });

  it('accepts JSON and NDJSON types, with parameters and in any case', async () => {
    let n = 0;
    for (const type of ['application/json', 'Application/JSON; charset=utf-8', 'application/x-ndjson', 'application/jsonl', 'application/vnd.kong.log+json']) {
      const res = await call(r.url, '/ingest/kong', { method: 'POST', headers: { 'content-type': type }, body: customer(`json${n++}`) });
      expect(res.status, type).toBe(200);
    }
    expect(await count(r.url, 'customers')).toBe(n);
  });
});

describe('paging: limit and after, one parser and one cap', () => {
  let r: RunningReflex;
  beforeAll(async () => {
    r = await start();
    // 1,001 entries that are JSON but not Exchanges: 1,001 dead letters.
    const lines = Array.from({ length: 1001 }, (_, i) => JSON.stringify({ request: { id: `bad-${i}` }, response: 'teapot' })).join('\n');
    const res = await call(r.url, '/ingest/exchanges', { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: lines });
    expect(res.body).toMatchObject({ deadLetters: 1001 });
  });

  it('answers 400 naming the parameter and its range for a negative, zero or non-numeric value, on every list route', async () => {
    const routes = ['/dead-letters', '/resources/customers', '/streams/customers/events', '/webhooks/wh_x/messages', '/webhooks/wh_x/dead-letters', '/webhooks/wh_x/deliveries'];
    for (const route of routes) {
      for (const limit of ['-1', '0', 'abc', '1.5', '']) {
        const res = await call(r.url, `${route}?limit=${limit}`);
        expect(res.status, `${route}?limit=${limit}`).toBe(400);
        expect(res.body, route).toMatchObject({ parameter: 'limit', error: expect.stringContaining('limit must be a whole number from 1 to 1000') });
      }
    }
    for (const route of ['/dead-letters', '/streams/customers/events', '/streams/customers/tail', '/webhooks/wh_x/messages']) {
      const res = await call(r.url, `${route}?after=-5`);
      expect(res.status, route).toBe(400);
      expect(res.body).toMatchObject({ parameter: 'after', error: expect.stringContaining('after must be a whole number from 0') });
    }
    expect((await call(r.url, '/webhooks/wh_x/deliveries?before=x')).body).toMatchObject({ parameter: 'before' });
  });

  it('clamps a limit over the cap to the cap (1000), and pages on from there', async () => {
    const first = (await call(r.url, '/dead-letters?limit=50000')).body as Array<{ id: number }>;
    expect(first).toHaveLength(1000);
    expect((await call(r.url, '/dead-letters')).body).toHaveLength(100);
    const rest = (await call(r.url, `/dead-letters?after=${first.at(-1)!.id}&limit=1000`)).body as unknown[];
    expect(rest).toHaveLength(1);
  });
});

describe('request timeouts', () => {
  let r: RunningReflex;
  beforeAll(async () => {
    r = await start((c) => Object.assign(c.server, { requestTimeoutMs: 1000, headersTimeoutMs: 500, idleTimeoutMs: 1000 }));
  });

  /** Sends `head`, then the body one byte every `everyMs`; resolves with what the server answered and when it hung up. */
  const dribble = (head: string, body: string, everyMs: number) => new Promise<{ answer: string; closedAfterMs: number; sent: number }>((resolve) => {
    const { port } = new URL(r.url);
    const started = Date.now();
    const socket = connect(Number(port), '127.0.0.1');
    let answer = '';
    let sent = 0;
    const timer = setInterval(() => {
      if (sent < body.length && !socket.destroyed) socket.write(body[sent++]!);
    }, everyMs);
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (answer += d));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearInterval(timer);
      resolve({ answer, closedAfterMs: Date.now() - started, sent });
    });
    socket.write(head);
  });

  it('cuts off a client that sends its body too slowly (408) while a normal client is served', async () => {
    const body = customer('slow');
    const slow = dribble(`POST /ingest/kong HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`, body, 50);
    // Meanwhile, a client that sends at once is answered as usual.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await call(r.url, '/ingest/kong', { method: 'POST', headers: JSON_TYPE, body: customer('fast') })).status).toBe(200);
    const cut = await slow;
    expect(cut.answer).toMatch(/^HTTP\/1\.1 408/);
    expect(cut.sent).toBeLessThan(body.length);
    expect(cut.closedAfterMs).toBeGreaterThanOrEqual(900);
    expect(cut.closedAfterMs).toBeLessThan(2500);
    expect(await count(r.url, 'customers')).toBe(1);
  });

  it('cuts off a client that sends its headers too slowly', async () => {
    const cut = await dribble('', 'GET /streams HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n', 50);
    expect(cut.answer).toMatch(/^HTTP\/1\.1 408/);
    expect(cut.closedAfterMs).toBeLessThan(1500);
  });

  it('leaves an SSE tail open well past the request and idle timeouts, and it still delivers', async () => {
    const { port } = new URL(r.url);
    let received = '';
    const req = httpRequest({ host: '127.0.0.1', port, path: '/streams/customers/tail', agent: false });
    const opened = new Promise<void>((resolve, reject) => {
      req.on('response', (res) => {
        res.setEncoding('utf8');
        res.on('data', (d: string) => (received += d));
        resolve();
      });
      req.on('error', reject);
    });
    req.end();
    await opened;
    let closed = false;
    req.on('close', () => (closed = true));
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect(closed).toBe(false);
    expect(received).toContain(': keep-alive');
    expect((await call(r.url, '/ingest/kong', { method: 'POST', headers: JSON_TYPE, body: customer('tailed') })).status).toBe(200);
    await expect.poll(() => received, { timeout: 2000 }).toContain('cus_tailed');
    req.destroy();
  });
});
