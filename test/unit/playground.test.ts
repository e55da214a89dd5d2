import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinRegistry } from '../../connectors/index.js';
import { defaultConfig } from '../../src/config/types.js';
import { silentLogger } from '../../src/logger.js';
import { startReflex, type RunningReflex } from '../../src/runtime.js';
import { loadSpecSet } from '../../src/spec/compile.js';

const session = readFileSync('examples/shop/kong-session.ndjson', 'utf8').trim().split('\n');
/** The session's first created order (POST /orders → 201, ord_5001, total 89.7). */
const ORDER = session.find((l) => l.includes('"POST"') && l.includes('/shop/v1/orders"') && l.includes('ord_5001'))!;
const HEALTHCHECK = session.find((l) => l.includes('/healthcheck'))!;

// Both ways exchanges reach the held batches: decoded on the main thread (workers 0) and sent to an ingest worker (1).
describe.each([0, 1])('the playground and held exchanges (ingest.workers %i)', (workers) => {
  let dir: string;
  let running: RunningReflex;
  const evaluate = (body: unknown) => fetch(`${running.url}/playground/evaluate`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  const answer = async (body: unknown) => {
    const res = await evaluate(body);
    return { status: res.status, body: (await res.json()) as any };
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'reflex-playground-'));
    const config = defaultConfig();
    config.server.port = 0;
    config.store.path = join(dir, 'reflex.db');
    config.ingest.workers = workers;
    running = await startReflex(config, await loadSpecSet(['examples/shop/openapi.yaml']), builtinRegistry(), silentLogger);
    const res = await fetch(`${running.url}/ingest/kong`, { method: 'POST', body: `[${session.join(',')}]`, headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(200);
  });
  afterAll(async () => {
    await running?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('holds the last ingested exchanges, newest first, redacted and matched; an unknown id is a 404', async () => {
    const recent = (await (await fetch(`${running.url}/exchanges/recent?limit=3`)).json()) as any[];
    // The session's last entry re-sends an earlier one (a duplicate for the store, still the newest entry received).
    expect(recent.map((r) => r.exchange.request.id)).toEqual(['7c1e9a094f0b4d2e9a4b1c8e5f6a7b09', '7c1e9a144f0b4d2e9a4b1c8e5f6a7b14', '7c1e9a134f0b4d2e9a4b1c8e5f6a7b13']);
    expect(recent[1]).toMatchObject({ source: 'http:/ingest/kong', exchange: { operation: { id: 'deleteCustomer' }, request: { route: '/customers/{customerId}', params: { customerId: 'cus_1001' } } } });
    const one = (await (await fetch(`${running.url}/exchanges/7c1e9a054f0b4d2e9a4b1c8e5f6a7b05`)).json()) as any;
    expect(one.exchange.request.headers.authorization).toBe('[redacted]');
    expect(one.exchange.response.body.id).toBe('ord_5001');
    const missing = await fetch(`${running.url}/exchanges/nope`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as any).error).toMatch(/not held/);
  });

  it('lists the loaded rules as written, and the formats', async () => {
    const rules = (await (await fetch(`${running.url}/playground/rules`)).json()) as any;
    expect(rules.formats).toContain('kong');
    expect(rules.operations.find((o: any) => o.operationId === 'createOrder').rules[0]).toMatchObject({ index: 0, type: 'OrderPlaced', stream: 'orders', when: 'response.status == 201 && size(request.body.items) > 0' });
  });

  it('runs an edited rule against a pasted log entry: the event it would write, with the rule\'s type, stream and subject', async () => {
    const { status, body } = await answer({ log: ORDER, rule: { index: 0, data: '{"orderId": response.body.id, "doubled": response.body.total * 2}' } });
    expect(status).toBe(200);
    expect(body).toMatchObject({ ok: true, when: true, operation: { id: 'createOrder', path: '/orders' } });
    expect(body.event).toMatchObject({ type: 'com.shop.OrderPlaced', subject: 'ord_5001', reflexstream: 'orders', data: { orderId: 'ord_5001', doubled: 179.4 } });
    expect(body.exchange.request.headers.authorization).toBe('[redacted]');
  });

  it('takes an Exchange as well, and says when `when` is false', async () => {
    const held = (await (await fetch(`${running.url}/exchanges/7c1e9a054f0b4d2e9a4b1c8e5f6a7b05`)).json()) as any;
    const { status, body } = await answer({ exchange: held.exchange, rule: { when: 'response.status == 404', key: 'request.body.customerId' } });
    expect(status).toBe(200);
    expect(body).toMatchObject({ ok: true, when: false, event: null });
    const keyed = await answer({ exchange: held.exchange, rule: { key: 'request.body.customerId' } });
    expect(keyed.body.event.subject).toBe('cus_1001');
  });

  it('places compile errors in the field\'s own text: line and column, code, and the spec loader\'s hints', async () => {
    const when = await answer({ log: ORDER, rule: { when: 'response.status == 201 &&' } });
    expect(when.status).toBe(422);
    expect(when.body.diagnostics).toEqual([expect.objectContaining({ field: 'when', code: 'RX120', line: 1, column: 26 })]);

    const data = await answer({ log: ORDER, rule: { data: '{\n  "id": response.body.id,\n  "total": (response.body.total\n}' } });
    expect(data.body.diagnostics).toEqual([expect.objectContaining({ field: 'data', code: 'RX124', line: 4 })]);

    const fn = await answer({ log: ORDER, rule: { when: 'request.path.startWith("/shop")' } });
    expect(fn.body.diagnostics[0]).toMatchObject({ field: 'when', code: 'RX121', line: 1, column: 14, hint: "Did you mean 'startsWith'?" });
  });

  it('reports a rule that fails at runtime with its RX4xx diagnostic, and an entry that matches nothing', async () => {
    const failing = await answer({ log: ORDER, rule: { data: '$number(response.body.currency)' } });
    expect(failing.status).toBe(422);
    expect(failing.body.diagnostics[0]).toMatchObject({ code: 'RX403', message: expect.stringMatching(/Unable to cast value to a number/) });
    const unmatched = await answer({ log: HEALTHCHECK, rule: {} });
    expect(unmatched.status).toBe(422);
    expect(unmatched.body.error).toMatch(/GET \/shop\/v1\/healthcheck matches no operation/);
    const unreadable = await answer({ log: '{"request": ', rule: {} });
    expect(unreadable.status).toBe(422);
    expect(unreadable.body.error).toMatch(/cannot be read as kong: .*\(line 1, column \d+\)/);
  });

  it('refuses bodies that are not one exchange or one entry, or larger than 256 KiB', async () => {
    expect((await evaluate({ rule: {} })).status).toBe(400);
    expect((await evaluate({ log: ORDER, exchange: {}, rule: {} })).status).toBe(400);
    expect((await evaluate({ log: ORDER, rule: { index: -1 } })).status).toBe(400);
    expect((await evaluate({ log: ORDER, format: 'nope', rule: {} })).status).toBe(422);
    expect((await evaluate({ log: 'x'.repeat(300 * 1024), rule: {} })).status).toBe(413);
  });
});
