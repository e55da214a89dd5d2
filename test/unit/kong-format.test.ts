import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { kongFormat } from '../../connectors/sources/kong/format.js';
import { PayloadError } from '../../src/sources/types.js';
import { kongLog } from '../support/kong-log.js';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/kong/${name}`, import.meta.url), 'utf8');

describe('Kong log format', () => {
  it("maps Kong's documented log object to an Exchange", () => {
    const [entry] = kongFormat.decode(fixture('kong-http-log-sample.json'));
    expect(entry!.ok).toBe(true);
    if (!entry!.ok) return;
    const ex = entry.exchange;
    expect(ex.request).toMatchObject({
      id: '2f6946328ffc4946b8c9120704a4a155',
      time: new Date(1726783839538).toISOString(),
      method: 'GET',
      scheme: 'http',
      host: 'localhost:8000',
      path: '/example-route', // request.uri: what the client called
      upstreamPath: '/', // upstream_uri: what the API saw after strip_path
      query: {},
      body: null,
    });
    expect(ex.request.headers['user-agent']).toBe('HTTPie/3.2.3');
    expect(ex.response).toMatchObject({ status: 200, latencyMs: 173, body: null });
    expect(ex.client).toEqual({ ip: '192.168.65.1', consumer: 'foo' });
    expect(ex.gateway).toEqual({ kind: 'kong', service: 'example_service', route: 'example_route', node: null, routePrefix: '/example-route' });
  });

  it('accepts the array that batching http-log posts', () => {
    const entries = kongFormat.decode(fixture('kong-http-log-batch-sample.json'));
    expect(entries.length).toBeGreaterThan(1);
    expect(entries.every((e) => e.ok)).toBe(true);
  });

  it("accepts file-log's NDJSON", () => {
    const a = kongLog({ id: 'a1', startedAt: 1_700_000_000_000, method: 'GET', path: '/v1/orders/1', status: 200 });
    const b = kongLog({ id: 'b2', startedAt: 1_700_000_001_000, method: 'GET', path: '/v1/orders/2', status: 404 });
    const entries = kongFormat.decode(JSON.stringify(a) + '\n' + JSON.stringify(b) + '\n');
    expect(entries.map((e) => e.ok && e.exchange.request.id)).toEqual(['a1', 'b2']);
  });

  it('parses bodies as JSON only when the content type says JSON, raw or base64', () => {
    const log = kongLog({
      id: 'x', startedAt: 1_700_000_000_000, method: 'POST', path: '/v1/orders', status: 201,
      requestBody: { items: [{ sku: 'A' }] }, responseBody: '<html>ok</html>', responseContentType: 'text/html',
    });
    let [e] = kongFormat.decode(JSON.stringify(log));
    expect(e!.ok && e!.exchange.request.body).toEqual({ items: [{ sku: 'A' }] });
    expect(e!.ok && e!.exchange.response.body).toBe('<html>ok</html>');

    const req = log.request as Record<string, unknown>;
    req.body_base64 = Buffer.from('{"a":1}').toString('base64');
    delete req.body;
    [e] = kongFormat.decode(JSON.stringify(log));
    expect(e!.ok && e!.exchange.request.body).toEqual({ a: 1 });

    // A body a plugin already parsed stays as it is.
    req.body = { parsed: true };
    delete req.body_base64;
    [e] = kongFormat.decode(JSON.stringify(log));
    expect(e!.ok && e!.exchange.request.body).toEqual({ parsed: true });
  });

  it('keeps a truncated JSON body as a string instead of failing', () => {
    const log = kongLog({ id: 't', startedAt: 1, method: 'POST', path: '/v1/orders', status: 201, requestBody: '{"items": [{"sku":' });
    const [e] = kongFormat.decode(JSON.stringify(log));
    expect(e!.ok && e!.exchange.request.body).toBe('{"items": [{"sku":');
  });

  it('keeps a body the plugin flagged as cut as text, even when the cut happens to parse', () => {
    const log = kongLog({ id: 'cut', startedAt: 1, method: 'POST', path: '/v1/orders', status: 201, responseBody: '1234' });
    (log.response as Record<string, unknown>).body = '12';
    (log.response as Record<string, unknown>).body_truncated = true;
    let [e] = kongFormat.decode(JSON.stringify(log));
    expect(e!.ok && e!.exchange.response.body).toBe('12');
    delete (log.response as Record<string, unknown>).body_truncated;
    [e] = kongFormat.decode(JSON.stringify(log));
    expect(e!.ok && e!.exchange.response.body).toBe(12);
  });

  it('falls back to the x-kong-request-id header, then to a hash of the record (old Kong versions)', () => {
    const log = kongLog({ id: 'hdr-id', startedAt: 1, method: 'GET', path: '/', status: 200 });
    delete (log.request as Record<string, unknown>).id;
    let [e] = kongFormat.decode(JSON.stringify(log));
    expect(e!.ok && e!.exchange.request.id).toBe('hdr-id');
    delete ((log.response as Record<string, unknown>).headers as Record<string, unknown>)['x-kong-request-id'];
    [e] = kongFormat.decode(JSON.stringify(log));
    const id1 = e!.ok && e!.exchange.request.id;
    [e] = kongFormat.decode(JSON.stringify(log));
    expect(id1).toMatch(/^h[0-9a-f]{32}$/);
    expect(e!.ok && e!.exchange.request.id).toBe(id1);
  });

  it('turns repeated headers and value-less query args into strings', () => {
    const log = kongLog({ id: 'q', startedAt: 1, method: 'GET', path: '/v1/orders', status: 200, query: { tag: ['a', 'b'], flag: true } });
    ((log.request as Record<string, unknown>).headers as Record<string, unknown>)['x-multi'] = ['1', '2'];
    const [e] = kongFormat.decode(JSON.stringify(log));
    expect(e!.ok && e!.exchange.request.query).toEqual({ tag: ['a', 'b'], flag: '' });
    expect(e!.ok && e!.exchange.request.headers['x-multi']).toBe('1, 2');
  });

  it('reports an entry with a wrong field by its JSON pointer inside the batch, and keeps the others', () => {
    const good = kongLog({ id: 'ok', startedAt: 1, method: 'GET', path: '/', status: 200 });
    const bad = kongLog({ id: 'bad', startedAt: 1, method: 'GET', path: '/', status: 200 });
    (bad.response as Record<string, unknown>).status = 'teapot';
    const entries = kongFormat.decode(JSON.stringify([good, bad]));
    expect(entries[0]!.ok).toBe(true);
    expect(entries[1]!.ok).toBe(false);
    if (entries[1]!.ok) return;
    expect(entries[1]!.diagnostic).toMatchObject({ code: 'RX303', pointer: '/1/response/status' });
    expect(entries[1]!.diagnostic.message).toContain('"teapot"');
  });

  it('rejects malformed JSON with the line and column', () => {
    expect(() => kongFormat.decode('[{"request": {"method": "GET"},\n  {oops}]')).toThrow(PayloadError);
    try {
      kongFormat.decode('[{"request": {"method": "GET"}},\n  {oops}]');
    } catch (err) {
      expect(err).toBeInstanceOf(PayloadError);
      expect((err as PayloadError).line).toBe(2);
      expect((err as PayloadError).message).toMatch(/line 2 column 4/);
    }
  });
});
