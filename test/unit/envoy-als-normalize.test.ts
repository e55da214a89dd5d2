import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { alsToExchange, decodeAlsEntry, isFinalEntry, type AlsHttpEntry } from '../../connectors/sources/envoy-als/normalize.js';
import { decodeMessage, encodeMessage } from '../../connectors/sources/envoy-als/proto.js';
import { httpEntry } from '../support/envoy-als.js';

// A StreamAccessLogsMessage in proto3 JSON, built by hand from Envoy's protos (shared fixtures).
const fixture = JSON.parse(readFileSync(new URL('../fixtures/envoy/envoy-als-message-synthetic.json', import.meta.url), 'utf8'));

describe('envoy-als normalizer', () => {
  it('maps the fixture entry to an Exchange', () => {
    const entry = fixture.httpLogs.logEntry[0];
    const exchange = alsToExchange(entry, fixture.identifier.node.id);
    expect(exchange).toEqual({
      request: {
        id: '4000a69d-3db6-404c-8892-4f8023e008f0',
        time: '2025-08-20T23:21:58.905Z',
        method: 'POST',
        scheme: 'http',
        host: 'localhost:8888',
        path: '/v1/chat/completions',
        upstreamPath: '/v1/chat/completions',
        query: {},
        headers: { 'user-agent': 'curl/8.7.1', 'x-forwarded-for': '10.244.0.30', 'x-request-id': '4000a69d-3db6-404c-8892-4f8023e008f0' },
        // Envoy's docs keep Lua metadata under the filter's name; without a logged content-type it stays text.
        body: '{"model": "llama2-7b", "messages": [{"role": "user", "content": "test"}]}',
        route: null,
        params: {},
      },
      response: { status: 200, headers: {}, body: null, latencyMs: 6 },
      client: { ip: '127.0.0.1', consumer: null },
      gateway: { kind: 'envoy', service: 'httproute/aibrix-system/llama2-7b-router/rule/0', route: 'httproute/aibrix-system/llama2-7b-router/rule/0/match/1/*', node: 'envoy-example-node' },
      operation: null,
    });
  });

  it('survives protobuf encoding: the fixture decodes to what it was (fields reflex does not declare are dropped)', () => {
    const decoded = decodeMessage(encodeMessage(fixture));
    const expected = structuredClone(fixture);
    delete expected.httpLogs.logEntry[0].commonProperties.responseFlags; // not in our .proto
    expect(decoded).toEqual(expected);
    expect(alsToExchange(decoded.httpLogs!.logEntry![0], 'n')).toEqual(alsToExchange(fixture.httpLogs.logEntry[0], 'n'));
  });

  it('parses JSON bodies from the reflex metadata namespace by the logged content type; a cut body stays text', () => {
    const entry = httpEntry({ path: '/v1/orders?expand=items&tag=a&tag=b&flag' });
    entry.commonProperties!.metadata = {
      filterMetadata: {
        reflex: { request_body: '{"customerId":"c1"}', request_body_truncated: false, response_body: '{"id":"ord_1","total":12', response_body_truncated: true },
      },
    };
    const x = alsToExchange(entry, null);
    expect(x.request.body).toEqual({ customerId: 'c1' });
    expect(x.response.body).toBe('{"id":"ord_1","total":12');
    expect(x.request.path).toBe('/v1/orders');
    expect(x.request.query).toEqual({ expand: 'items', tag: ['a', 'b'], flag: '' });
    expect(x.gateway.node).toBeNull();
  });

  it('a cut body that happens to parse is still kept as text', () => {
    const entry = httpEntry();
    entry.commonProperties!.metadata = { filterMetadata: { reflex: { response_body: '12', response_body_truncated: true } } };
    expect(alsToExchange(entry, null).response.body).toBe('12');
  });

  it('falls back to the stream id for the request id and to duration for the latency', () => {
    const entry = httpEntry();
    delete entry.request!.requestId;
    delete entry.commonProperties!.timeToLastDownstreamTxByte;
    entry.commonProperties!.streamId = 'stream-42';
    entry.commonProperties!.duration = '1.5s';
    const x = alsToExchange(entry, null);
    expect(x.request.id).toBe('stream-42');
    expect(x.response.latencyMs).toBe(1500);
  });

  it('keeps both paths after a rewrite: the client\'s original path and the one the upstream saw', () => {
    const entry = httpEntry({ path: '/v1/orders?page=2' });
    entry.request!.originalPath = '/shop/v1/orders?page=2';
    const ex = alsToExchange(entry, null);
    expect(ex.request.path).toBe('/shop/v1/orders');
    expect(ex.request.upstreamPath).toBe('/v1/orders');
    expect(ex.request.query).toEqual({ page: '2' });
  });

  it('without a rewrite both paths are the one Envoy logged', () => {
    const ex = alsToExchange(httpEntry({ path: '/v1/orders' }), null);
    expect(ex.request.path).toBe('/v1/orders');
    expect(ex.request.upstreamPath).toBe('/v1/orders');
  });

  it.each<[string, (e: AlsHttpEntry) => void, string, string]>([
    ['no response code (the client went away)', (e) => delete e.response!.responseCode, 'RX302', '/httpLogs/logEntry/3/response/responseCode'],
    ['no method', (e) => delete e.request!.requestMethod, 'RX302', '/httpLogs/logEntry/3/request/requestMethod'],
    ['no request', (e) => delete e.request, 'RX302', '/httpLogs/logEntry/3/request'],
    ['no start time', (e) => delete e.commonProperties!.startTime, 'RX302', '/httpLogs/logEntry/3/commonProperties/startTime'],
    ['a status out of range', (e) => (e.response!.responseCode = 1000), 'RX303', '/httpLogs/logEntry/3/response/responseCode'],
  ])('an entry with %s becomes a dead letter', (_what, spoil, code, pointer) => {
    const entry = httpEntry();
    spoil(entry);
    const decoded = decodeAlsEntry(entry, { node: 'edge-1', index: 3 });
    expect(decoded.ok).toBe(false);
    if (decoded.ok) return;
    expect(decoded.diagnostic).toMatchObject({ code, severity: 'error', pointer, file: 'envoy-als:edge-1' });
    expect(decoded.raw).toBe(entry);
    expect(decoded.requestKey).toMatch(/^envoy:raw:[0-9a-f]+$/);
  });

  it('only final entries count: periodic and start-of-stream entries would repeat a request', () => {
    const entry = httpEntry();
    expect(isFinalEntry(entry)).toBe(true);
    delete entry.commonProperties!.accessLogType;
    expect(isFinalEntry(entry)).toBe(true);
    entry.commonProperties!.accessLogType = 'DownstreamPeriodic';
    expect(isFinalEntry(entry)).toBe(false);
    entry.commonProperties!.accessLogType = 'DownstreamStart';
    expect(isFinalEntry(entry)).toBe(false);
  });
});
