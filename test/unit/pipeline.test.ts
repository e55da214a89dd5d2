import { beforeAll, describe, expect, it } from 'vitest';
import type { Exchange } from '../../src/model/exchange.js';
import { processExchange, type Outcome } from '../../src/pipeline/process.js';
import { REDACTED } from '../../src/pipeline/redact.js';
import { loadSpecSet } from '../../src/spec/compile.js';
import type { CompiledSpecSet } from '../../src/spec/types.js';

let specs: CompiledSpecSet;
beforeAll(async () => {
  specs = await loadSpecSet(['test/fixtures/pipeline/rules.yaml']);
});

function exchange(method: string, path: string, status: number, body: unknown, requestBody: unknown = null): Exchange {
  return {
    request: {
      id: 'req-1', time: '2026-11-02T10:00:00.000Z', method, scheme: 'https', host: 'api.example', path, query: {},
      headers: { authorization: 'Bearer secret', 'content-type': 'application/json' }, body: requestBody, route: null, params: {},
    },
    response: { status, headers: { 'set-cookie': 'sid=1' }, body, latencyMs: 3 },
    client: { ip: '10.0.0.1', consumer: null },
    gateway: { kind: 'kong', service: 'widgets', route: 'widgets-route', node: null },
    operation: null,
  };
}
const run = async (ex: Exchange, key = 'kong:req-1'): Promise<Outcome> => processExchange(ex, specs, key);
const values = (o: Outcome) => (o.kind === 'records' ? o.records.map((r) => ({ stream: r.stream, key: r.key, ...(r.value as object) })) : []);

describe('processExchange', () => {
  it('redacts credential headers and spec-listed body fields before any rule sees them', async () => {
    const ex = exchange('POST', '/v2/widgets', 201, { id: 'w1', name: 'gear' }, { card: { number: '4242424242424242', cvc: '1' } });
    const [created] = values(await run(ex));
    expect(created).toMatchObject({ data: { id: 'w1', card: { number: REDACTED, cvc: '1' }, auth: REDACTED } });
    expect(ex.response.headers['set-cookie']).toBe(REDACTED);
  });

  it('makes CloudEvents with the request time, subject, stream and a deterministic id', async () => {
    const a = values(await run(exchange('POST', '/v2/widgets', 201, { id: 'w1', name: 'gear' })));
    const b = values(await run(exchange('POST', '/v2/widgets', 201, { id: 'w1', name: 'gear' })));
    const c = values(await run(exchange('POST', '/v2/widgets', 201, { id: 'w1', name: 'gear' }), 'kong:req-2'));
    expect(a.map((e) => [e.stream, e.key, (e as any).type, (e as any).subject])).toEqual([
      ['widgets', 'w1', 't.WidgetCreated', 'w1'],
      ['shouts', 'w1', 't.WidgetShouted', 'w1'],
    ]);
    expect(a[0]).toMatchObject({ specversion: '1.0', time: '2026-11-02T10:00:00.000Z', source: 'https://api.example/v2', reflexoperation: 'createWidget', reflexrequestid: 'req-1' });
    expect(a.map((e) => (e as any).id)).toEqual(b.map((e) => (e as any).id));
    expect(a[0]!.id).not.toBe(a[1]!.id);
    expect(a[0]!.id).not.toBe(c[0]!.id);
  });

  it('evaluates expressions outside the fast subset through jsonata (async) with the same result shape', async () => {
    const outcome = processExchange(exchange('POST', '/v2/widgets', 201, { id: 'w1', name: 'gear' }), specs, 'k');
    expect(outcome).toBeInstanceOf(Promise);
    expect(values(await outcome)[1]).toMatchObject({ data: { name: 'GEAR' } });
  });

  it('uses the default when (status < 400): a failed request emits nothing', async () => {
    expect(values(await run(exchange('PUT', '/v2/widgets/7', 409, null)))).toEqual([]);
  });

  it('matches typed path params, strips the server base path, and fills route, params and operation', async () => {
    const ex = exchange('PUT', '/v2/widgets/7/', 200, null);
    const [replaced] = values(await run(ex));
    expect(replaced).toMatchObject({ key: '7', data: { id: 7, idType: 'number' } });
    expect(ex.request.route).toBe('/widgets/{widgetId}');
    expect(ex.request.params).toEqual({ widgetId: 7 });
    expect(ex.operation).toEqual({ id: 'replaceWidget', method: 'PUT', path: '/widgets/{widgetId}' });
  });

  it('counts an unmatched exchange under its gateway route', async () => {
    expect(await run(exchange('GET', '/v2/gadgets', 200, null))).toMatchObject({ kind: 'unmatched', label: 'kong/widgets-route' });
    expect(await run(exchange('PUT', '/v2/widgets/not-a-number', 200, null))).toMatchObject({ kind: 'unmatched' });
  });

  it('fails with the rule location when `when` is not a boolean, or throws', async () => {
    const notBool = await run(exchange('PATCH', '/v2/widgets/7', 200, { flag: 'yes' }));
    expect(notBool).toMatchObject({ kind: 'failed', diagnostic: { code: 'RX402', file: expect.stringContaining('rules.yaml'), line: 35 } });
    const throws = await run(exchange('PATCH', '/v2/widgets/7', 200, {}));
    expect(throws).toMatchObject({ kind: 'failed', diagnostic: { code: 'RX401' } });
    expect(throws.kind === 'failed' && throws.diagnostic.message).toMatch(/'when' of event WidgetPatched failed: No such key: flag/);
  });

  it('fails when the key is empty instead of emitting an event without a subject', async () => {
    const outcome = await run(exchange('PATCH', '/v2/widgets/7', 200, { flag: true }));
    expect(outcome).toMatchObject({ kind: 'failed', diagnostic: { code: 'RX405' } });
  });
});
