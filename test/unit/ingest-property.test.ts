import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinRegistry } from '../../connectors/index.js';
import { exchangeFormat } from '../../connectors/sources/exchange/format.js';
import { defaultConfig } from '../../src/config/types.js';
import { silentLogger } from '../../src/logger.js';
import { Ingestor } from '../../src/pipeline/ingest.js';
import { startReflex, type RunningReflex } from '../../src/runtime.js';
import { loadSpecSet } from '../../src/spec/compile.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import { kongLog } from '../support/kong-log.js';

/**
 * "One bad entry never costs the batch", as a property: whatever JSON lands in whatever field of a
 * Kong entry or an Exchange, the answer is 200, 400 or 413, every entry is accounted for (records, a
 * duplicate, unmatched or a dead letter) and the server keeps answering.
 */

let reflex: RunningReflex;
let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'reflex-prop-'));
  const config = defaultConfig();
  config.server.port = 0;
  config.store.path = join(dir, 'reflex.db');
  config.cdc.reorderWindowMs = 0;
  reflex = await startReflex(config, await loadSpecSet(['examples/shop/openapi.yaml']), builtinRegistry(), silentLogger);
});
afterAll(async () => {
  await reflex?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Text spliced into the payload as is: JSON the test itself could not JSON.stringify (too deep), or exact big integers. */
class Raw {
  constructor(readonly text: string) {}
}

const deep = (n: number, open: string, close: string, inner = '1') => new Raw(open.repeat(n) + inner + close.repeat(n));
const hostile = fc.oneof(
  { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  fc.constantFrom<unknown>(
    { toString: 1 }, { valueOf: {} }, JSON.parse('{"__proto__": {"x": 1}}'), { constructor: 'c', prototype: null },
    1e16, -1e16, 1e308, -0, 253402300800000, Number.MAX_SAFE_INTEGER, 1.5,
    '0', '2020-02-30T00:00:00Z', '2020-01-01T00:00:60Z', '9999-12-31T23:59:59Z', '', 'teapot', '\u0000', '{"a":', '[]',
    new Raw('9007199254740993'), new Raw('-90071992547409931234'), new Raw('1e400'),
    deep(3000, '{"a":', '}'), deep(6000, '[', ']', ''), deep(300, '[', ']', ''),
    JSON.stringify({ id: 'x' }), '{"id": 9007199254740993, "items": [{"sku": "a", "quantity": 1}], "total": 600}',
  ),
);

const KONG_FIELDS = [
  [], ['started_at'], ['request'], ['request', 'method'], ['request', 'uri'], ['request', 'url'], ['request', 'id'],
  ['request', 'headers'], ['request', 'headers', 'authorization'], ['request', 'headers', 'content-type'],
  ['request', 'querystring'], ['request', 'querystring', 'q'], ['request', 'body'], ['request', 'body_base64'], ['request', 'body_truncated'],
  ['response'], ['response', 'status'], ['response', 'headers'], ['response', 'headers', 'content-type'], ['response', 'headers', 'x-kong-request-id'],
  ['response', 'body'], ['upstream_uri'], ['latencies'], ['latencies', 'request'], ['consumer'], ['consumer', 'username'],
  ['authenticated_entity'], ['service'], ['service', 'name'], ['route'], ['route', 'paths'], ['client_ip'], ['tries'],
];
const EXCHANGE_FIELDS = [
  [], ['request'], ['request', 'id'], ['request', 'time'], ['request', 'method'], ['request', 'path'], ['request', 'upstreamPath'],
  ['request', 'query'], ['request', 'query', 'q'], ['request', 'headers'], ['request', 'headers', 'content-type'], ['request', 'body'],
  ['response'], ['response', 'status'], ['response', 'headers'], ['response', 'body'], ['response', 'latencyMs'],
  ['client'], ['client', 'ip'], ['gateway'], ['gateway', 'kind'], ['gateway', 'routePrefix'], ['operation'],
];

let seq = 0;
function kongEntry(): Record<string, unknown> {
  seq++;
  return kongLog({
    id: `p${seq}`, startedAt: Date.parse('2026-11-03T08:00:00Z') + seq, method: 'POST', path: '/v1/orders', status: 201, authorization: 'Bearer secret',
    requestBody: { customerId: 'cus_1', items: [{ sku: 'a', quantity: 1 }] },
    responseBody: { id: `ord_${seq}`, customerId: 'cus_1', total: 600, currency: 'EUR', items: [{ sku: 'a', quantity: 1 }] },
  });
}
function exchangeEntry(): Record<string, unknown> {
  seq++;
  return {
    request: { id: `x${seq}`, time: '2026-11-03T08:00:00Z', method: 'POST', path: '/v1/customers', headers: { 'content-type': 'application/json', authorization: 'Bearer s' }, query: {}, body: { email: 'a@example.com' } },
    response: { status: 201, headers: { 'content-type': 'application/json' }, body: { id: `cus_${seq}`, email: 'a@example.com', name: 'A' } },
    gateway: { kind: 'http' },
  };
}

/** Sets `value` at `path` (the whole entry when the path is empty). */
function put(entry: Record<string, unknown>, path: string[], value: unknown): unknown {
  if (path.length === 0) return value;
  let node = entry;
  for (const k of path.slice(0, -1)) {
    if (node[k] === null || typeof node[k] !== 'object') node[k] = {};
    node = node[k] as Record<string, unknown>;
  }
  Object.defineProperty(node, path[path.length - 1]!, { value, enumerable: true, writable: true, configurable: true });
  return entry;
}

/** JSON text of `value`, with every Raw spliced in verbatim. */
function serialize(value: unknown): string {
  const raws: string[] = [];
  const text = JSON.stringify(value, (_k, v: unknown) => {
    if (v instanceof Raw) {
      raws.push(v.text);
      return `@@RAW${raws.length - 1}@@`;
    }
    return v;
  });
  return text.replace(/"@@RAW(\d+)@@"/g, (_m, i: string) => raws[Number(i)]!);
}

const mutation = (fields: string[][]) => fc.array(fc.record({ path: fc.constantFrom(...fields), value: hostile }), { minLength: 1, maxLength: 3 });

async function post(url: string, payload: string) {
  const res = await reflex.app.inject({ method: 'POST', url, headers: { 'content-type': url.endsWith('kong') ? 'application/json' : 'application/x-ndjson' }, payload });
  return { status: res.statusCode, body: res.json() as Record<string, number> };
}

async function healthy() {
  const started = performance.now();
  const res = await reflex.app.inject({ method: 'GET', url: '/healthz' });
  expect(res.statusCode).toBe(200);
  return performance.now() - started;
}

function checkAnswer(answer: { status: number; body: Record<string, number> }, sent: number) {
  expect([200, 400, 413]).toContain(answer.status);
  if (answer.status !== 200) return;
  const b = answer.body;
  expect(b.received).toBe(sent);
  expect(b.accepted + b.duplicates).toBe(sent);
  expect(b.deadLetters + b.unmatched).toBeLessThanOrEqual(b.accepted);
}

describe('ingest under arbitrary entries (property)', () => {
  it('Kong batches: 200/400/413, every entry accounted for, the good neighbours committed, health answering', async () => {
    await fc.assert(
      fc.asyncProperty(mutation(KONG_FIELDS), fc.boolean(), async (mutations, asNdjson) => {
        const good = kongEntry();
        let bad: unknown = kongEntry();
        for (const m of mutations) bad = put((bad !== null && typeof bad === 'object' && !Array.isArray(bad) ? bad : {}) as Record<string, unknown>, m.path, m.value);
        const payload = asNdjson ? `${serialize(good)}\n${serialize(bad)}\n` : serialize([good, bad]);
        const answer = await post('/ingest/kong', payload);
        checkAnswer(answer, 2);
        // Only a payload that is not JSON at all is refused; Raw values are valid JSON, so this one is read.
        expect(answer.status).toBe(200);
        expect(answer.body.records).toBeGreaterThanOrEqual(1);
        await healthy();
      }),
      { numRuns: 60 },
    );
  });

  it('Exchange lines: the same invariant', async () => {
    await fc.assert(
      fc.asyncProperty(mutation(EXCHANGE_FIELDS), async (mutations) => {
        const good = exchangeEntry();
        let bad: unknown = exchangeEntry();
        for (const m of mutations) bad = put((bad !== null && typeof bad === 'object' && !Array.isArray(bad) ? bad : {}) as Record<string, unknown>, m.path, m.value);
        const answer = await post('/ingest/exchanges', `${serialize(good)}\n${serialize(bad)}\n`);
        checkAnswer(answer, 2);
        expect(answer.status).toBe(200);
        expect(answer.body.records).toBeGreaterThanOrEqual(1);
        await healthy();
      }),
      { numRuns: 60 },
    );
  });

  it('a payload that is not JSON at all is the only 400', async () => {
    const answer = await post('/ingest/kong', `[${serialize(kongEntry())},`);
    expect(answer.status, JSON.stringify(answer.body)).toBe(400);
  });
});

describe('what the property found, one by one', () => {
  it('a body nested 5,000 levels deep does not cost the batch: stored as text', async () => {
    const echo = kongEntry();
    (echo.response as Record<string, unknown>).body = deep(5000, '{"a":', '}').text;
    const answer = await post('/ingest/kong', serialize([kongEntry(), echo]));
    // The rules find no `id` in a text body: that exchange is a rule's dead letter, kept whole; its neighbour commits.
    expect(answer).toMatchObject({ status: 200, body: { received: 2, accepted: 2, deadLetters: 1 } });
    expect(answer.body.records).toBeGreaterThanOrEqual(1);
    const letters = (await reflex.app.inject({ method: 'GET', url: '/dead-letters?limit=1000' })).json() as Array<{ diagnostic: { code: string }; record: any }>;
    const dl = letters.find((d) => d.record?.request?.id === (echo.request as Record<string, unknown>).id);
    expect(dl?.diagnostic.code).toMatch(/^RX40[1-8]$/);
    expect(dl?.record.response.body).toBe(deep(5000, '{"a":', '}').text);
  });

  it('dead letters of unreadable entries keep no credentials, and the readable neighbour is committed', async () => {
    const bad = kongEntry();
    bad.started_at = 1e16;
    ((bad.request as Record<string, unknown>).headers as Record<string, unknown>).Cookie = 'sid=secret';
    const answer = await post('/ingest/kong', serialize([kongEntry(), bad]));
    expect(answer).toMatchObject({ status: 200, body: { accepted: 2, deadLetters: 1, records: expect.any(Number) } });
    const letters = (await reflex.app.inject({ method: 'GET', url: '/dead-letters?limit=1000' })).json() as Array<{ requestKey: string; diagnostic: { code: string; pointer: string }; record: any }>;
    const dl = letters.find((d) => d.record?.request?.id === (bad.request as Record<string, unknown>).id);
    expect(dl?.diagnostic).toMatchObject({ code: 'RX303', pointer: '/1/started_at' });
    expect(dl?.record.request.headers).toMatchObject({ authorization: '[redacted]', Cookie: '[redacted]' });
    expect(JSON.stringify(letters)).not.toContain('secret');
  });

  it('two ids beyond 2^53 that differ in the last digit stay two resources', async () => {
    const a = kongEntry();
    const b = kongEntry();
    (a.response as Record<string, unknown>).body = '{"id": 9007199254740993, "customerId": "c", "total": 1, "currency": "EUR", "items": [{"sku": "a", "quantity": 1}]}';
    (b.response as Record<string, unknown>).body = '{"id": 9007199254740992, "customerId": "c", "total": 1, "currency": "EUR", "items": [{"sku": "a", "quantity": 1}]}';
    expect(await post('/ingest/kong', serialize([a, b]))).toMatchObject({ status: 200, body: { deadLetters: 0 } });
    const events = (await reflex.app.inject({ method: 'GET', url: '/streams/orders/events?after=0&limit=1000' })).json() as Array<{ key: string }>;
    expect(events.map((e) => e.key)).toEqual(expect.arrayContaining(['9007199254740993', '9007199254740992']));
  });
});

describe('an entry whose results cannot be stored', () => {
  it('becomes a dead letter (RX400) and the rest of the batch commits, instead of a failed batch', async () => {
    const specs = await loadSpecSet(['examples/shop/openapi.yaml']);
    const store = new SqliteStore({ path: join(dir, 'unstorable.db'), retentionMs: 0, dedupeWindowMs: 86_400_000, synchronous: 'normal' });
    try {
      store.ensureStreams(specs.streams);
      const entries = exchangeFormat.decode(`${serialize(exchangeEntry())}\n${serialize(exchangeEntry())}\n`);
      // A value JSON cannot hold stands for anything a store write may refuse for one entry alone.
      const second = entries[1]!;
      if (second.ok) (second.exchange.response.body as Record<string, unknown>).extra = 10n;
      const result = await new Ingestor(store, specs).ingest(entries, { source: 'test' });
      expect(result).toMatchObject({ accepted: 2, deadLetters: 1, records: 1 });
      const [dl] = store.deadLetters(0, 10);
      expect(dl!.diagnostic).toMatchObject({ code: 'RX400', message: expect.stringContaining('cannot be stored') });
      expect(dl!.requestKey).toBe(`http:${second.ok ? second.exchange.request.id : ''}`);
    } finally {
      store.close();
    }
  });
});
