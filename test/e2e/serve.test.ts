import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kongLog } from '../support/kong-log.js';
import { ROOT, runCli, startReflexProcess, type ReflexProcess } from '../support/reflex-process.js';

const SHOP = `${ROOT}examples/shop/openapi.yaml`;
const session = readFileSync(`${ROOT}examples/shop/kong-session.ndjson`, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);

const post = (url: string, body: string, contentType = 'application/json') =>
  fetch(url, { method: 'POST', body, headers: { 'content-type': contentType } });
const getJson = async (url: string) => {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as any };
};

describe('reflex serve, end to end over HTTP', () => {
  let dir: string;
  let reflex: ReflexProcess;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'reflex-e2e-'));
    writeFileSync(join(dir, 'reflex.yaml'), 'server: { bodyLimit: 100kb }\n');
    reflex = await startReflexProcess(['--spec', SHOP, '--data', dir, '--config', join(dir, 'reflex.yaml')]);
  });
  afterAll(async () => {
    await reflex?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers health and readiness', async () => {
    expect((await getJson(`${reflex.url}/healthz`)).body).toEqual({ status: 'ok' });
    expect((await getJson(`${reflex.url}/readyz`)).status).toBe(200);
  });

  it('turns a batch of Kong logs into events that the consumer API returns in order', async () => {
    const res = await post(`${reflex.url}/ingest/kong`, JSON.stringify(session.slice(0, 10)));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ received: 10, accepted: 10, duplicates: 0, records: 8, deadLetters: 0, unmatched: 0 });

    const streams = (await getJson(`${reflex.url}/streams`)).body as Array<{ name: string; lastOffset: number }>;
    expect(streams.map((s) => s.name)).toEqual(expect.arrayContaining(['customers', 'orders', 'payments', 'alerts']));

    const orders = (await getJson(`${reflex.url}/streams/orders/events?after=0`)).body as Array<{ offset: number; key: string; value: any }>;
    expect(orders.map((r) => [r.offset, r.key, r.value.type])).toEqual([
      [1, 'ord_5001', 'com.shop.OrderPlaced'],
      [2, 'ord_5001', 'com.shop.OrderUpdated'],
      [3, 'ord_5002', 'com.shop.OrderPlaced'],
    ]);
    const placed = orders[0]!.value;
    expect(placed).toMatchObject({
      specversion: '1.0',
      source: 'https://api.shop.example',
      subject: 'ord_5001',
      time: '2026-11-02T09:14:15.120Z',
      datacontenttype: 'application/json',
      reflexstream: 'orders',
      reflexoperation: 'createOrder',
      data: { orderId: 'ord_5001', customerId: 'cus_1001', total: 89.7, currency: 'EUR', items: [{ sku: 'TSHIRT-M-BLK', quantity: 2 }, { sku: 'MUG-CLASSIC', quantity: 1 }] },
    });
    expect(placed.id).toMatch(/^[0-9a-f]{32}$/);

    const alerts = (await getJson(`${reflex.url}/streams/alerts/events`)).body as Array<{ value: any }>;
    expect(alerts.map((r) => r.value.data)).toEqual([{ orderId: 'ord_5002', total: 649 }]);
    const payments = (await getJson(`${reflex.url}/streams/payments/events`)).body as Array<{ key: string; value: any }>;
    expect(payments.map((r) => [r.key, r.value.type, r.value.data])).toEqual([
      ['ord_5001', 'com.shop.PaymentDeclined', { orderId: 'ord_5001', reason: 'card_declined' }],
      ['pay_9001', 'com.shop.PaymentCaptured', { paymentId: 'pay_9001', orderId: 'ord_5001', amount: 89.7 }],
    ]);
  });

  it('yields nothing new for a batch Kong sends again, and counts unmatched paths per route', async () => {
    const rest = JSON.stringify(session.slice(8));
    const first = await (await post(`${reflex.url}/ingest/kong`, rest)).json();
    expect(first).toMatchObject({ received: 7, accepted: 4, duplicates: 3, records: 2, unmatched: 1 });
    const again = await (await post(`${reflex.url}/ingest/kong`, rest)).json();
    expect(again).toMatchObject({ received: 7, accepted: 0, duplicates: 7, records: 0 });
    const unmatched = (await getJson(`${reflex.url}/unmatched`)).body;
    expect(unmatched).toMatchObject([{
      label: 'kong/shop-api', count: 1, lastMethod: 'GET', lastPath: '/shop/v1/healthcheck',
      hint: 'GET /shop/v1/healthcheck (client) → not under base path /v1 ; GET /v1/healthcheck (upstream, under base path /v1) → no operation ; GET /v1/healthcheck (upstream, taken as already without base path) → no operation',
    }]);
    // The log says it too, once per gateway route.
    expect(reflex.output()).toMatch(/WARN +exchanges of kong\/shop-api match no operation .* tried=GET \/shop\/v1\/healthcheck \(client\) → not under base path \/v1/);
  });

  it('rejects malformed JSON with 400, the parser message and position, and stores nothing of it', async () => {
    const before = (await getJson(`${reflex.url}/streams`)).body;
    const fresh = kongLog({ id: 'malformed-neighbour', startedAt: Date.parse('2026-11-02T10:00:00Z'), method: 'POST', path: '/v1/customers', status: 201, responseBody: { id: 'cus_x', email: 'x@example.com', name: 'X' } });
    const body = `[${JSON.stringify(fresh)},\n{"request": oops}]`;
    const res = await post(`${reflex.url}/ingest/kong`, body);
    expect(res.status).toBe(400);
    const answer = (await res.json()) as { error: string; line: number; column: number };
    expect(answer.line).toBe(2);
    expect(answer.column).toBe(13);
    expect(answer.error).toMatch(/malformed JSON/);
    expect((await getJson(`${reflex.url}/streams`)).body).toEqual(before);
  });

  it('answers 413 for a body over the configured limit', async () => {
    const huge = 'x'.repeat(150 * 1024);
    const res = await post(`${reflex.url}/ingest/kong`, huge);
    expect(res.status).toBe(413);
  });

  it('accepts canonical Exchanges as NDJSON', async () => {
    const ex = {
      request: { id: 'ndjson-1', time: '2026-11-02T11:00:00Z', method: 'POST', path: '/v1/customers', headers: { 'content-type': 'application/json' }, body: '{"email":"g@example.com","name":"Grace"}' },
      response: { status: 201, headers: { 'content-type': 'application/json' }, body: { id: 'cus_2002', email: 'g@example.com', name: 'Grace' } },
    };
    const res = await post(`${reflex.url}/ingest/exchanges`, JSON.stringify(ex) + '\n', 'application/x-ndjson');
    expect(await res.json()).toMatchObject({ received: 1, accepted: 1, records: 1 });
    const customers = (await getJson(`${reflex.url}/streams/customers/events`)).body as Array<{ key: string; value: any }>;
    expect(customers.at(-1)).toMatchObject({ key: 'cus_2002', value: { type: 'com.shop.CustomerRegistered', reflexrequestid: 'ndjson-1' } });
  });

  it('keeps consumer offsets and reads from them', async () => {
    const commit = await fetch(`${reflex.url}/streams/orders/offsets`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ consumer: 'billing', offset: 2 }),
    });
    expect(await commit.json()).toMatchObject({ consumer: 'billing', offset: 2 });
    const next = (await getJson(`${reflex.url}/streams/orders/events?consumer=billing`)).body as Array<{ offset: number }>;
    expect(next.map((r) => r.offset)).toEqual([3, 4]);
    const offsets = (await getJson(`${reflex.url}/streams/orders/offsets`)).body;
    expect(offsets).toMatchObject([{ consumer: 'billing', offset: 2, lag: 2 }]);
    const past = await fetch(`${reflex.url}/streams/orders/offsets`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ consumer: 'billing', offset: 99 }),
    });
    expect(past.status).toBe(400);
    expect((await getJson(`${reflex.url}/streams/nope/events`)).status).toBe(404);
  });

  it('tails a stream over Server-Sent Events and resumes from Last-Event-ID', async () => {
    const controller = new AbortController();
    const res = await fetch(`${reflex.url}/streams/orders/tail`, { headers: { 'last-event-id': '2' }, signal: controller.signal });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const reader = res.body!.getReader();
    let text = '';
    const readUntil = async (pattern: RegExp) => {
      while (!pattern.test(text)) {
        const { value, done } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
    };
    await readUntil(/id: 4\n/);
    expect([...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]))).toEqual([3, 4]);
    // A live event arrives on the open stream.
    const live = kongLog({ id: 'live-1', startedAt: Date.parse('2026-11-02T12:00:00Z'), method: 'POST', path: '/v1/orders', status: 201,
      requestBody: { customerId: 'c', items: [{ sku: 'S', quantity: 1 }] },
      responseBody: { id: 'ord_live', customerId: 'c', total: 5, currency: 'EUR', items: [{ sku: 'S', quantity: 1 }] } });
    await post(`${reflex.url}/ingest/kong`, JSON.stringify(live));
    await readUntil(/id: 5\n/);
    const last = /id: 5\ndata: (.*)\n/.exec(text)!;
    expect(JSON.parse(last[1]!)).toMatchObject({ subject: 'ord_live', type: 'com.shop.OrderPlaced' });
    controller.abort();
  });
});

describe('reflex serve, failures', () => {
  it('sends an exchange whose rule throws to the dead letters and processes the rest of the batch', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reflex-e2e-'));
    const reflex = await startReflexProcess(['--spec', `${ROOT}test/e2e/fixtures/fragile.yaml`, '--data', dir]);
    try {
      const mk = (id: string, body: unknown) => ({
        request: { id, time: '2026-11-02T11:00:00Z', method: 'POST', path: '/things' },
        response: { status: 201, headers: { 'content-type': 'application/json' }, body },
      });
      const lines = [mk('t1', { id: 'a', size: 50 }), mk('t2', { id: 'b' }), mk('t3', { id: 'c', size: 99 })].map((l) => JSON.stringify(l)).join('\n');
      const res = await post(`${reflex.url}/ingest/exchanges`, lines);
      expect(await res.json()).toMatchObject({ received: 3, accepted: 3, records: 2, deadLetters: 1 });
      const events = (await getJson(`${reflex.url}/streams/things/events`)).body as Array<{ key: string }>;
      expect(events.map((e) => e.key)).toEqual(['a', 'c']);
      const [dl] = (await getJson(`${reflex.url}/dead-letters`)).body as Array<any>;
      expect(dl.diagnostic).toMatchObject({ code: 'RX401', file: expect.stringContaining('fragile.yaml'), line: 16 });
      expect(dl.diagnostic.message).toMatch(/'when' of event BigThingCreated failed: .*size/);
      expect(dl.record.request.id).toBe('t2');
    } finally {
      await reflex.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stops gracefully on SIGTERM even while a consumer holds a live tail open', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reflex-e2e-'));
    const reflex = await startReflexProcess(['--spec', SHOP, '--data', dir]);
    try {
      const controller = new AbortController();
      const res = await fetch(`${reflex.url}/streams/orders/tail`, { signal: controller.signal });
      expect(res.status).toBe(200);
      const code = await Promise.race([reflex.stop(), new Promise((r) => setTimeout(() => r('timeout'), 5000))]);
      expect(code).toBe(0);
      controller.abort();
    } finally {
      await reflex.kill9();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses to start on a spec error and names the file, line and column', async () => {
    const { code, stderr } = await runCli(['serve', '--spec', `${ROOT}test/e2e/fixtures/broken.yaml`, '--port', '0', '--data', join(tmpdir(), 'reflex-never')]);
    expect(code).toBe(1);
    expect(stderr).toMatch(/broken\.yaml:15:\d+ - error RX120/);
  });

  it('keeps events across a restart, and offsets continue after it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reflex-e2e-'));
    try {
      let reflex = await startReflexProcess(['--spec', SHOP, '--data', dir]);
      await post(`${reflex.url}/ingest/kong`, JSON.stringify(session.slice(0, 5)));
      await reflex.kill9(); // no graceful shutdown: what was acknowledged must be on disk
      reflex = await startReflexProcess(['--spec', SHOP, '--data', dir]);
      try {
        const answer = await (await post(`${reflex.url}/ingest/kong`, JSON.stringify(session))).json();
        expect(answer).toMatchObject({ received: 15, accepted: 9, duplicates: 6 });
        const orders = (await getJson(`${reflex.url}/streams/orders/events`)).body as Array<{ offset: number; value: any }>;
        expect(orders.map((o) => [o.offset, o.value.type])).toEqual([
          [1, 'com.shop.OrderPlaced'], [2, 'com.shop.OrderUpdated'], [3, 'com.shop.OrderPlaced'], [4, 'com.shop.OrderCancelled'],
        ]);
        const customers = (await getJson(`${reflex.url}/streams/customers/events`)).body as Array<{ offset: number; value: any }>;
        expect(customers.map((o) => [o.offset, o.value.type])).toEqual([
          [1, 'com.shop.CustomerRegistered'], [2, 'com.shop.CustomerUpdated'], [3, 'com.shop.CustomerDeleted'],
        ]);
      } finally {
        await reflex.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
