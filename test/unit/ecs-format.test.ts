import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ecsFormat } from '../../connectors/sources/ecs/format.js';
import { builtinRegistry } from '../../connectors/index.js';
import type { DecodedEntry } from '../../src/sources/types.js';
import type { Exchange } from '../../src/model/exchange.js';

const sampleText = readFileSync(new URL('../fixtures/ecs/ecs-http-log-with-body-sample.json', import.meta.url), 'utf8');
const SAMPLE = JSON.parse(sampleText) as Record<string, unknown>;

function one(doc: unknown): DecodedEntry {
  return ecsFormat.decode(JSON.stringify(doc))[0]!;
}
function exchange(doc: unknown): Exchange {
  const decoded = one(doc);
  if (!decoded.ok) throw new Error(decoded.diagnostic.message);
  return decoded.exchange;
}
function deadLetter(doc: unknown): { code: string; pointer: string | undefined; message: string } | null {
  const d = one(doc);
  return d.ok ? null : { code: d.diagnostic.code, pointer: d.diagnostic.pointer, message: d.diagnostic.message };
}

/** The same document with every field as one dotted key (`{"http.request.method": "POST"}`). */
function flatten(doc: Record<string, unknown>, prefix = '', out: Record<string, unknown> = {}): Record<string, unknown> {
  for (const [k, v] of Object.entries(doc)) {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) flatten(v as Record<string, unknown>, `${prefix}${k}.`, out);
    else out[`${prefix}${k}`] = v;
  }
  return out;
}

/** A small ECS access-log document, flat names → values. */
const FLAT = {
  '@timestamp': '2026-03-01T10:00:01.000Z',
  'http.request.method': 'post',
  'url.original': '/shop/v1/orders?dry=1&tag=a&tag=b',
  'http.response.status_code': 201,
  'event.duration': 12_500_000,
  'client.ip': '198.51.100.7',
  'user_agent.original': 'curl/8',
  'http.request.body.content': '{"items":[{"sku":"A"}]}',
  'http.request.mime_type': 'application/json',
  'http.response.body.content': '{"id":"ord_1"}',
  'http.response.mime_type': 'application/json',
  'service.name': 'orders',
};

function nest(flat: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(flat)) {
    const parts = name.split('.');
    let at = out;
    for (const p of parts.slice(0, -1)) at = (at[p] ??= {}) as Record<string, unknown>;
    at[parts[parts.length - 1]!] = value;
  }
  return out;
}

describe('ecs format', () => {
  it('is registered as ecs and carries bodies', () => {
    expect(builtinRegistry().formats.get('ecs')).toBe(ecsFormat);
    expect(ecsFormat.bodies).not.toBe(false);
  });

  it('turns the Packetbeat sample (pretty-printed, nested) into an Exchange', () => {
    const entries = ecsFormat.decode(sampleText);
    expect(entries).toHaveLength(1);
    const x = entries[0]!.ok ? entries[0]!.exchange : null;
    const pet = { id: 10, name: 'doggie', category: { id: 1, name: 'Dogs' }, photoUrls: ['string'], tags: [{ id: 0, name: 'string' }], status: 'available' };
    expect(x).toMatchObject({
      request: {
        time: '2025-01-15T10:21:33.512Z', method: 'POST', scheme: 'http', host: 'localhost:8080', path: '/api/v3/pet', upstreamPath: null, query: {},
        headers: { 'content-length': '137', 'content-type': 'application/json', 'user-agent': 'curl/8.5.0' },
        body: pet,
      },
      response: { status: 200, latencyMs: 18.734, body: pet, headers: { 'content-type': 'application/json' } },
      client: { ip: '192.0.2.10', consumer: null },
      gateway: { kind: 'elasticsearch', service: null, route: null },
    });
    expect(x!.request.id).toMatch(/^h/);
  });

  it('reads nested, flattened and mixed documents alike', () => {
    const nested = exchange(nest(FLAT));
    expect(nested.request).toMatchObject({ method: 'POST', path: '/shop/v1/orders', query: { dry: '1', tag: ['a', 'b'] }, body: { items: [{ sku: 'A' }] }, headers: { 'user-agent': 'curl/8' } });
    expect(nested.response).toMatchObject({ status: 201, latencyMs: 12.5, body: { id: 'ord_1' } });
    expect(nested).toMatchObject({ client: { ip: '198.51.100.7' }, gateway: { service: 'orders' } });
    const strip = (x: Exchange) => ({ ...x, request: { ...x.request, id: '' } });
    expect(strip(exchange(FLAT))).toEqual(strip(nested));
    expect(strip(exchange(flatten(SAMPLE)))).toEqual(strip(exchange(SAMPLE)));
    const mixed = {
      '@timestamp': FLAT['@timestamp'],
      http: { 'request.method': 'POST', request: { 'body.content': FLAT['http.request.body.content'], mime_type: 'application/json' }, 'response.status_code': 201 },
      'http.response': { body: { content: FLAT['http.response.body.content'] }, mime_type: 'application/json' },
      'url.original': FLAT['url.original'], event: { duration: 12_500_000 }, 'client.ip': '198.51.100.7', user_agent: { original: 'curl/8' }, service: { name: 'orders' },
    };
    expect(strip(exchange(mixed))).toEqual(strip(nested));
  });

  it('parses bodies as JSON by mime type, else by the Content-Type header, else by content that looks like JSON', () => {
    const bodyOf = (patch: Record<string, unknown>) => exchange({ ...FLAT, ...patch }).request.body;
    expect(bodyOf({ 'http.request.mime_type': 'text/plain' })).toBe('{"items":[{"sku":"A"}]}');
    expect(bodyOf({ 'http.request.mime_type': 'application/vnd.api+json' })).toEqual({ items: [{ sku: 'A' }] });
    expect(bodyOf({ 'http.request.mime_type': undefined, 'http.request.headers.content-type': 'text/plain' })).toBe('{"items":[{"sku":"A"}]}');
    expect(bodyOf({ 'http.request.mime_type': undefined })).toEqual({ items: [{ sku: 'A' }] });
    expect(bodyOf({ 'http.request.mime_type': undefined, 'http.request.body.content': '12' })).toBe('12');
    expect(bodyOf({ 'http.request.mime_type': undefined, 'http.request.body.content': '{"cut":' })).toBe('{"cut":');
    expect(bodyOf({ 'http.request.body.content': 'done.', 'http.request.mime_type': 'text/plain' })).toBe('done.');
    expect(bodyOf({ 'http.request.body.content': '' })).toBeNull();
    expect(bodyOf({ 'http.request.body.content': '{"n":12345678901234567890}' })).toEqual({ n: '12345678901234567890' });
    expect(exchange({ ...FLAT, 'http.request.body.content': undefined }).request.body).toBeNull();
  });

  it('takes the method in any case, the path and query from url.path/url.query or the URL', () => {
    const req = (patch: Record<string, unknown>) => exchange({ ...FLAT, ...patch }).request;
    expect(req({ 'http.request.method': 'gEt' }).method).toBe('GET');
    expect(req({ 'url.path': '/a%20b', 'url.query': 'x=1' })).toMatchObject({ path: '/a%20b', query: { x: '1' } });
    const query = req({ 'url.query': '__proto__=a&__proto__=b&constructor=c' }).query;
    expect(Object.getPrototypeOf(query)).toBe(Object.prototype);
    expect(Object.entries(query)).toEqual([['__proto__', ['a', 'b']], ['constructor', 'c']]);
    expect(req({ 'url.original': undefined, 'url.full': 'https://api.example:8443/v1/x?y=2#frag' })).toMatchObject({ path: '/v1/x', query: { y: '2' }, scheme: 'https', host: 'api.example:8443' });
    expect(req({ 'url.original': 'https://api.example/' })).toMatchObject({ path: '/', query: {}, host: 'api.example', scheme: 'https' });
    expect(req({ 'url.domain': 'shop.example', 'url.port': 443, 'url.scheme': 'https' })).toMatchObject({ host: 'shop.example', scheme: 'https' });
  });

  it('uses http.request.id, else the hit\'s _index/_id (or an _id a reader put beside the fields), else a hash of the document', () => {
    expect(exchange({ ...FLAT, 'http.request.id': 'req-9', _id: 'doc-1' }).request.id).toBe('req-9');
    expect(exchange({ ...FLAT, _id: 'doc-1' }).request.id).toBe('doc-1');
    const hit = { _index: 'logs-2026.03.01', _id: 'doc-2', _source: nest(FLAT) };
    expect(exchange(hit).request.id).toBe('logs-2026.03.01/doc-2');
    expect(exchange(FLAT).request.id).toBe(exchange(FLAT).request.id);
    expect(exchange(FLAT).request.id).not.toBe(exchange({ ...FLAT, 'client.ip': '203.0.113.1' }).request.id);
  });

  it('reads a _search response and a JSON array, with pointers to each hit', () => {
    const response = { took: 1, hits: { total: { value: 2 }, hits: [{ _index: 'a', _id: '1', _source: FLAT }, { _index: 'a', _id: '2', _source: { ...FLAT, 'http.response.status_code': null } }] } };
    const [ok, bad] = ecsFormat.decode(JSON.stringify(response));
    expect(ok).toMatchObject({ ok: true, pointer: '/hits/hits/0', exchange: { request: { id: 'a/1' } } });
    expect(bad).toMatchObject({ ok: false, diagnostic: { code: 'RX302', pointer: '/hits/hits/1/_source/http/response/status_code' } });
    expect(ecsFormat.decode(JSON.stringify([FLAT, FLAT])).map((e) => e.ok && e.pointer)).toEqual(['/0', '/1']);
    const ndjson = ecsFormat.decode(`${JSON.stringify(FLAT)}\n\n${JSON.stringify(nest(FLAT))}\n`);
    expect(ndjson.map((e) => e.ok && e.line)).toEqual([1, 3]);
  });

  it('makes a document without a status, method, path or valid time a dead letter pointing at the field', () => {
    expect(deadLetter({ ...FLAT, 'http.response.status_code': undefined })).toMatchObject({ code: 'RX302', pointer: '/http/response/status_code' });
    expect(deadLetter(nest({ ...FLAT, 'http.response.status_code': 'abc' }))).toMatchObject({ code: 'RX303', pointer: '/http/response/status_code' });
    expect(deadLetter({ ...FLAT, 'http.response.status_code': 99 })).toMatchObject({ code: 'RX303', pointer: '/http.response.status_code' });
    expect(deadLetter({ _index: 'logs-a', _id: 'x', _source: { ...FLAT, '@timestamp': '2026-02-30T10:00:00Z' } })).toMatchObject({ code: 'RX303', pointer: '/_source/@timestamp' });
    expect(deadLetter(nest({ ...FLAT, '@timestamp': 'yesterday' }))).toMatchObject({ code: 'RX303', pointer: '/@timestamp' });
    expect(deadLetter({ ...FLAT, '@timestamp': undefined })).toMatchObject({ code: 'RX302', pointer: '/@timestamp' });
    expect(deadLetter({ ...FLAT, 'http.request.method': undefined })).toMatchObject({ code: 'RX302', pointer: '/http/request/method' });
    expect(deadLetter({ ...FLAT, 'http.request.method': 'GET /x' })).toMatchObject({ code: 'RX303', pointer: '/http.request.method' });
    expect(deadLetter({ ...FLAT, 'url.original': undefined })).toMatchObject({ code: 'RX302', pointer: '/url/path' });
    expect(deadLetter({ ...FLAT, 'url.path': 'orders' })).toMatchObject({ code: 'RX303', pointer: '/url.path' });
    expect(deadLetter({ ...FLAT, 'http.request.headers.x-a': { b: 1 } })).toMatchObject({ code: 'RX303', pointer: '/http.request.headers.x-a' });
    expect(deadLetter(nest({ ...FLAT, 'http.request.headers': { 'x-a': [1, { b: 1 }] } }))).toMatchObject({ code: 'RX303', pointer: '/http/request/headers/x-a/1' });
    expect(deadLetter('text')).toMatchObject({ code: 'RX303', pointer: '' });
  });

  it('takes event.start before @timestamp, epoch milliseconds and nanosecond fractions', () => {
    expect(exchange({ ...FLAT, 'event.start': '2026-03-01T09:59:59.990Z' }).request.time).toBe('2026-03-01T09:59:59.990Z');
    expect(exchange({ ...FLAT, '@timestamp': 1772359200000 }).request.time).toBe('2026-03-01T10:00:00.000Z');
    expect(exchange({ ...FLAT, '@timestamp': '2026-03-01T10:00:00.123456789Z' }).request.time).toBe('2026-03-01T10:00:00.123Z');
    expect(exchange({ ...FLAT, 'event.duration': '2000000' }).response.latencyMs).toBe(2);
    expect(exchange({ ...FLAT, 'event.duration': undefined }).response.latencyMs).toBeNull();
  });

  it('names the gateway when the shipper says which one, and reads headers, consumer and node', () => {
    const x = exchange({
      ...FLAT, 'observer.product': 'Kong Gateway', 'observer.name': 'kong-1', 'user.name': 'alice',
      'http.request.headers': { 'X-Request-ID': 'r1', Accept: ['a', null, 'b'] }, 'http.response.headers.content-type': 'application/json',
    });
    expect(x.gateway).toMatchObject({ kind: 'kong', node: 'kong-1' });
    expect(x.client.consumer).toBe('alice');
    expect(x.request.headers).toMatchObject({ 'x-request-id': 'r1', accept: 'a, b' });
    expect(x.response.headers).toEqual({ 'content-type': 'application/json' });
    expect(exchange({ ...FLAT, 'agent.type': 'envoy' }).gateway.kind).toBe('envoy');
    expect(exchange({ ...FLAT, 'agent.type': 'filebeat' }).gateway.kind).toBe('elasticsearch');
  });

  it('walks only the fields it reads: deep or hostile documents cost nothing and change nothing', () => {
    const deep = '{"a":'.repeat(100_000) + '1' + '}'.repeat(100_000);
    const hostile = '{"__proto__":{"polluted":true},"http.request.headers.__proto__":"p","http":{"request.headers":{"constructor":"c"}}';
    const line = `${JSON.stringify({ ...FLAT, 'http.request.id': 'r' }).slice(0, -1)},"labels":${deep},${hostile.slice(1)}}`;
    const [decoded] = ecsFormat.decode(line);
    if (!decoded?.ok) throw new Error('not decoded');
    const x = decoded.exchange;
    expect(x.request.headers).toMatchObject({ constructor: 'c' });
    expect(Object.prototype.hasOwnProperty.call(x.request.headers, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
