import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { envoyJsonFormat } from '../../connectors/sources/envoy-json/format.js';
import type { DecodedEntry } from '../../src/sources/types.js';
import type { Exchange } from '../../src/model/exchange.js';

const samples = readFileSync(new URL('../fixtures/envoy/envoy-json-access-log-samples.ndjson', import.meta.url), 'utf8');

function one(entry: Record<string, unknown>): DecodedEntry {
  return envoyJsonFormat.decode(JSON.stringify(entry))[0]!;
}
function exchange(entry: Record<string, unknown>): Exchange {
  const decoded = one(entry);
  if (!decoded.ok) throw new Error(decoded.diagnostic.message);
  return decoded.exchange;
}

/** A line of the format plugins/envoy/README.md recommends (typed values, the Lua filter's bodies). */
const RECOMMENDED = {
  start_time: '2026-03-01T10:00:00.123Z', method: 'POST', 'x-envoy-origin-path': '/shop/v1/orders?dry=1&tag=a&tag=b', ':path': '/v1/orders?dry=1&tag=a&tag=b',
  response_code: 201, duration: 12, 'x-request-id': 'req-1', ':authority': 'api.example', 'user-agent': 'curl/8', 'x-forwarded-for': '198.51.100.7',
  'content-type': 'application/json', 'response-content-type': 'application/json; charset=utf-8', downstream_remote_address: '[2001:db8::1]:40000',
  upstream_cluster: 'orders', route_name: 'orders-route',
  request_body: '{"items":[{"sku":"A"}]}', request_body_truncated: false, response_body: '{"id":"ord_1","total":12', response_body_truncated: true,
};

describe('envoy-json format', () => {
  it("turns each line of Envoy Gateway's default format into an Exchange", () => {
    const entries = envoyJsonFormat.decode(samples);
    expect(entries.every((e) => e.ok)).toBe(true);
    const [a, b] = entries.map((e) => (e.ok ? e.exchange : null));
    expect(a).toMatchObject({
      request: {
        id: '4000a69d-3db6-404c-8892-4f8023e008f0', time: '2025-08-20T23:21:58.905Z', method: 'POST', host: 'localhost:8888',
        path: '/v1/chat/completions', upstreamPath: null, query: {}, body: null,
        headers: { 'user-agent': 'curl/8.7.1', 'x-forwarded-for': '10.244.0.30', 'x-request-id': '4000a69d-3db6-404c-8892-4f8023e008f0' },
      },
      response: { status: 200, latencyMs: 6, body: null },
      client: { ip: '127.0.0.1', consumer: null },
      gateway: { kind: 'envoy', service: 'httproute/aibrix-system/llama2-7b-router/rule/0', route: 'httproute/aibrix-system/llama2-7b-router/rule/0/match/1/*' },
    });
    expect(b).toMatchObject({ request: { id: '34137566-5a0d-4835-878e-bfebcb2e67fd' }, response: { status: 503, latencyMs: 0 }, gateway: { service: 'original_destination_cluster', route: 'original_route' } });
  });

  it('reads the recommended format: both paths, the query, JSON bodies by content type, a cut body as text', () => {
    const x = exchange(RECOMMENDED);
    expect(x.request).toMatchObject({ path: '/shop/v1/orders', upstreamPath: '/v1/orders', query: { dry: '1', tag: ['a', 'b'] }, body: { items: [{ sku: 'A' }] } });
    expect(x.response).toMatchObject({ status: 201, latencyMs: 12, body: '{"id":"ord_1","total":12', headers: { 'content-type': 'application/json; charset=utf-8' } });
    expect(x.client.ip).toBe('2001:db8::1');
  });

  it('reads json_format text values: quoted numbers, "-" as absent, x-envoy-original-path before the rest', () => {
    const x = exchange({ ...RECOMMENDED, response_code: '200', duration: '7', 'x-envoy-original-path': '/public/a', request_body: '-', response_body: '-', route_name: '-' });
    expect(x.request).toMatchObject({ path: '/public/a', query: {}, body: null });
    expect(x.response).toMatchObject({ status: 200, latencyMs: 7, body: null });
    expect(x.gateway.route).toBeNull();
  });

  it('makes malformed values dead letters with a pointer to the field', () => {
    const bad = (patch: Record<string, unknown>) => {
      const d = one({ ...RECOMMENDED, ...patch });
      return d.ok ? null : { code: d.diagnostic.code, pointer: d.diagnostic.pointer };
    };
    expect(bad({ start_time: '2026-02-30T10:00:00Z' })).toEqual({ code: 'RX303', pointer: '/start_time' });
    expect(bad({ start_time: null })).toEqual({ code: 'RX302', pointer: '/start_time' });
    expect(bad({ response_code: 0 })).toEqual({ code: 'RX302', pointer: '/response_code' });
    expect(bad({ response_code: '-' })).toEqual({ code: 'RX302', pointer: '/response_code' });
    expect(bad({ response_code: 'abc' })).toEqual({ code: 'RX303', pointer: '/response_code' });
    expect(bad({ method: null })).toEqual({ code: 'RX302', pointer: '/method' });
    expect(bad({ method: { x: 1 } })).toEqual({ code: 'RX303', pointer: '/method' });
    expect(bad({ 'x-envoy-origin-path': 'orders' })).toEqual({ code: 'RX303', pointer: '/x-envoy-origin-path' });
    expect(bad({ 'x-envoy-origin-path': null, ':path': null })).toEqual({ code: 'RX302', pointer: '/x-envoy-original-path' });
  });

  it('carries bodies (the Lua filter logs them)', () => {
    expect(envoyJsonFormat.bodies).not.toBe(false);
  });
});
