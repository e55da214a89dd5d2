import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { awsApiGatewayFormat } from '../../connectors/sources/aws-apigw/format.js';
import { parseClfTime } from '../../connectors/sources/aws-apigw/clf-time.js';
import type { DecodedEntry } from '../../src/sources/types.js';
import type { Exchange } from '../../src/model/exchange.js';

const samples = readFileSync(new URL('../fixtures/aws-apigw/aws-apigw-access-log-samples.ndjson', import.meta.url), 'utf8');

function one(entry: Record<string, unknown>): DecodedEntry {
  const [decoded] = awsApiGatewayFormat.decode(JSON.stringify(entry));
  return decoded!;
}
function exchange(entry: Record<string, unknown>): Exchange {
  const decoded = one(entry);
  if (!decoded.ok) throw new Error(decoded.diagnostic.message);
  return decoded.exchange;
}
function deadLetter(entry: Record<string, unknown>): { code: string; pointer: string | undefined; message: string } {
  const decoded = one(entry);
  if (decoded.ok) throw new Error('expected a dead letter');
  return { code: decoded.diagnostic.code, pointer: decoded.diagnostic.pointer, message: decoded.diagnostic.message };
}

const REST = { requestId: 'r-1', ip: '203.0.113.9', requestTime: '21/Apr/2022:17:09:26 +0000', httpMethod: 'GET', resourcePath: '/pets/{petId}', status: '200', protocol: 'HTTP/1.1', responseLength: '12' };

describe('aws-apigw format', () => {
  it('turns each real sample line into an Exchange; the $default line without a path is a dead letter that says what to log', () => {
    const entries = awsApiGatewayFormat.decode(samples);
    expect(entries).toHaveLength(5);
    const [first, ...rest] = entries;
    expect(first!.ok).toBe(false);
    if (!first!.ok) {
      expect(first!.diagnostic).toMatchObject({ code: 'RX302', pointer: '/path', line: 1 });
      expect(first!.diagnostic.message).toContain('add "path":"$context.path"');
    }
    const exchanges = rest.map((e) => (e.ok ? e.exchange : null));
    expect(exchanges.map((x) => [x?.request.id, x?.request.time, x?.request.method, x?.request.path, x?.response.status, x?.client.ip, x?.gateway.route])).toEqual([
      ['ErGlsg1YoAMEMmw=', '2026-10-03T15:24:19.000Z', 'GET', '/rates', 500, 'x.x.x.x', 'GET /rates'],
      ['f56dfc01-5f1b-4509-b2f6-124bb3fa0feb', '2021-02-13T07:54:52.000Z', 'GET', '/hello', 200, '52.68.xxx.xxx', '/hello'],
      ['80aa583d-6caa-42e8-ab43-98e5c4341215', '2021-07-15T05:35:16.000Z', 'GET', '/', 200, '54.221.61.34', '/'],
      ['841c5bb5-3336-4fe7-8361-412b396f9817', '2021-07-15T05:35:18.000Z', 'GET', '/', 200, '54.221.61.40', '/'],
    ]);
    for (const x of exchanges) {
      expect(x).toMatchObject({ request: { body: null, upstreamPath: null, query: {} }, response: { body: null }, gateway: { kind: 'aws-apigw' } });
      // `caller`/`user` logged as "-" are absent, not a consumer named "-".
      expect(x?.client.consumer).toBeNull();
    }
  });

  it('declares that it carries no bodies', () => {
    expect(awsApiGatewayFormat.bodies).toBe(false);
  });

  it('reads a custom template: unquoted numbers, the stage-less path as upstream path, epoch time, latency, user agent, domain', () => {
    const x = exchange({
      requestId: 'r-2', apiId: 'a1b2c3', stage: 'prod', path: '/prod/pets/7', resourcePath: '/pets/{petId}', httpMethod: 'post',
      status: 201, requestTimeEpoch: 1650560966123, responseLatency: 42, integrationLatency: '30', userAgent: 'curl/8', domainName: 'api.example.com',
      sourceIp: '198.51.100.1', user: 'alice',
    });
    expect(x.request).toMatchObject({ id: 'r-2', method: 'POST', path: '/prod/pets/7', upstreamPath: '/pets/7', time: '2022-04-21T17:09:26.123Z', host: 'api.example.com', scheme: 'https', headers: { 'user-agent': 'curl/8' } });
    expect(x.response).toMatchObject({ status: 201, latencyMs: 42 });
    expect(x.client).toEqual({ ip: '198.51.100.1', consumer: 'alice' });
    expect(x.gateway).toMatchObject({ kind: 'aws-apigw', service: 'a1b2c3', route: '/pets/{petId}' });
  });

  it('takes requestTimeEpoch in milliseconds, or in seconds, and the CLF time with any offset', () => {
    const ms = exchange({ ...REST, path: '/p', requestTimeEpoch: '1650560966000' }).request.time;
    const s = exchange({ ...REST, path: '/p', requestTimeEpoch: 1650560966 }).request.time;
    expect(ms).toBe('2022-04-21T17:09:26.000Z');
    expect(s).toBe(ms);
    expect(exchange({ ...REST, path: '/p', requestTime: '21/Apr/2022:19:09:26 +0200' }).request.time).toBe(ms);
    expect(parseClfTime('29/Feb/2024:00:00:00 -0130')).toBe(Date.parse('2024-02-29T01:30:00Z'));
  });

  it('takes the method and path from an HTTP API route key without parameters', () => {
    const x = exchange({ requestId: 'h', requestTime: REST.requestTime, routeKey: 'DELETE /sessions', status: '204' });
    expect(x.request).toMatchObject({ method: 'DELETE', path: '/sessions' });
  });

  it('makes malformed values dead letters with a pointer to the field', () => {
    expect(deadLetter({ ...REST, path: '/p', requestTime: '31/Feb/2022:17:09:26 +0000' })).toMatchObject({ code: 'RX303', pointer: '/requestTime' });
    expect(deadLetter({ ...REST, path: '/p', requestTime: '2022-04-21T17:09:26Z' })).toMatchObject({ code: 'RX303', pointer: '/requestTime' });
    expect(deadLetter({ ...REST, path: '/p', requestTime: '-' })).toMatchObject({ code: 'RX302', pointer: '/requestTime' });
    expect(deadLetter({ ...REST, path: '/p', requestTimeEpoch: 'soon' })).toMatchObject({ code: 'RX303', pointer: '/requestTimeEpoch' });
    expect(deadLetter({ ...REST, path: '/p', status: 'OK' })).toMatchObject({ code: 'RX303', pointer: '/status' });
    expect(deadLetter({ ...REST, path: '/p', status: 700 })).toMatchObject({ code: 'RX303', pointer: '/status' });
    expect(deadLetter({ ...REST, path: '/p', status: '-' })).toMatchObject({ code: 'RX302', pointer: '/status' });
    expect(deadLetter({ ...REST, path: '/p', httpMethod: '-' })).toMatchObject({ code: 'RX302', pointer: '/httpMethod' });
    expect(deadLetter({ ...REST, path: '/p', httpMethod: 'G T' })).toMatchObject({ code: 'RX303', pointer: '/httpMethod' });
    expect(deadLetter({ ...REST, path: 'pets' })).toMatchObject({ code: 'RX303', pointer: '/path' });
    // A resource template is not a path: nothing to match, so the entry says what to log.
    expect(deadLetter(REST)).toMatchObject({ code: 'RX302', pointer: '/path' });
    const [notObject] = awsApiGatewayFormat.decode('[1]');
    expect(notObject!.ok).toBe(false);
  });

  it('rejects a line that is not JSON with its line number', () => {
    expect(() => awsApiGatewayFormat.decode(JSON.stringify({ ...REST, path: '/p' }) + '\n{"requestId": ')).toThrow(/line 2/);
  });
});
