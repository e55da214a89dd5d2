import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/reflex-process.js';

const RATES = 'test/fixtures/aws-apigw/rates.yaml';

describe('reflex test with the file access-log formats', () => {
  it('--format aws-apigw: events from API Gateway access logs, RX156 for the rules that read bodies, the path-less line a dead letter', async () => {
    const { code, stdout, stderr } = await runCli(['test', RATES, '--logs', 'test/fixtures/aws-apigw/aws-apigw-access-log-samples.ndjson', '--format', 'aws-apigw']);
    expect(code).toBe(0);
    const records = stdout.trim().split('\n').map((l) => JSON.parse(l) as { key: string; value: { type: string; data: unknown } });
    expect(records.map((r) => [r.key, r.value.type, r.value.data])).toEqual([['ErGlsg1YoAMEMmw=', 'com.rates.RatesFailed', { requestId: 'ErGlsg1YoAMEMmw=', status: 500 }]]);
    expect(stderr).toMatch(/rates\.yaml:19:\d+ - warning RX156: rule RatesQuoted of getRates reads response\.body in when/);
    expect(stderr).toMatch(/rates\.yaml:28:\d+ - warning RX156: rule Greeted of hello/);
    expect(stderr).toContain('dead letter: error RX302: /path is required');
    expect(stderr).toContain('5 entries: 1 events');
  });

  it('--format envoy-json: the recommended file log, bodies included, matched by the client path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reflex-envoy-json-'));
    try {
      writeFileSync(join(dir, 'spec.yaml'), [
        'openapi: 3.1.0',
        'info: { title: Orders, version: "1" }',
        'servers: [{ url: /shop/v1 }]',
        'paths:',
        '  /orders:',
        '    post:',
        '      operationId: createOrder',
        '      responses: { "201": { description: created } }',
        '      x-reflex-events:',
        '        - { type: OrderPlaced, data: "{\\"id\\": response.body.id, \\"sku\\": request.body.items[0].sku}", key: response.body.id }',
        '',
      ].join('\n'));
      const line = {
        start_time: '2026-03-01T10:00:00.123Z', method: 'POST', 'x-envoy-origin-path': '/shop/v1/orders', ':path': '/v1/orders', response_code: 201, duration: 12,
        'x-request-id': 'req-1', 'content-type': 'application/json', 'response-content-type': 'application/json',
        request_body: '{"items":[{"sku":"A"}]}', request_body_truncated: false, response_body: '{"id":"ord_1"}', response_body_truncated: false,
      };
      writeFileSync(join(dir, 'access.ndjson'), JSON.stringify(line) + '\n');
      const { code, stdout, stderr } = await runCli(['test', join(dir, 'spec.yaml'), '--logs', join(dir, 'access.ndjson'), '--format', 'envoy-json']);
      expect(code).toBe(0);
      expect(stderr).not.toContain('RX156');
      const [record] = stdout.trim().split('\n').map((l) => JSON.parse(l) as { key: string; value: { data: unknown } });
      expect(record).toMatchObject({ key: 'ord_1', value: { data: { id: 'ord_1', sku: 'A' } } });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--format ecs: a pretty-printed Packetbeat document, flattened and nested hits, a hit without a status a dead letter', async () => {
    const SPEC = 'test/fixtures/ecs/petstore.yaml';
    const sample = await runCli(['test', SPEC, '--logs', 'test/fixtures/ecs/ecs-http-log-with-body-sample.json', '--format', 'ecs']);
    expect(sample.code).toBe(0);
    expect(sample.stdout.trim().split('\n').map((l) => JSON.parse(l) as unknown)).toMatchObject([{ key: '10', value: { type: 'PetAdded', data: { id: 10, name: 'doggie', ms: 18.734 } } }]);

    const dir = mkdtempSync(join(tmpdir(), 'reflex-ecs-'));
    try {
      const flat = {
        '@timestamp': '2026-03-01T10:00:00Z', 'http.request.method': 'post', 'url.original': '/api/v3/pet?dry=1', 'http.response.status_code': 200,
        'http.request.body.content': '{"name":"rex"}', 'http.response.body.content': '{"id":11}', 'event.duration': 2_000_000,
      };
      const nested = { '@timestamp': '2026-03-01T10:00:01Z', http: { request: { method: 'POST', body: { content: '{"name":"tom"}' } }, response: { status_code: 200, body: { content: '{"id":12}' } } }, url: { path: '/api/v3/pet' } };
      const lines = [
        { _index: 'logs-2026.03.01', _id: 'a', _source: flat },
        { _index: 'logs-2026.03.01', _id: 'b', _source: nested },
        { _index: 'logs-2026.03.01', _id: 'c', _source: { ...flat, 'http.response.status_code': undefined } },
      ];
      writeFileSync(join(dir, 'hits.ndjson'), lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
      const { code, stdout, stderr } = await runCli(['test', SPEC, '--logs', join(dir, 'hits.ndjson'), '--format', 'ecs']);
      expect(code).toBe(0);
      const records = stdout.trim().split('\n').map((l) => JSON.parse(l) as { key: string; value: { data: unknown } });
      expect(records.map((r) => [r.key, r.value.data])).toEqual([['11', { id: 11, name: 'rex', ms: 2 }], ['12', { id: 12, name: 'tom', ms: null }]]);
      expect(stderr).toContain('dead letter: error RX302: /_source/http/response/status_code is required');
      expect(stderr).toContain('3 entries: 2 events');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
