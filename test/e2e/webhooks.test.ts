import { lookup } from 'node:dns/promises';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { isForbiddenAddress } from '../../connectors/sinks/webhook/address-guard.js';
import { kongLog } from '../support/kong-log.js';
import { ROOT, startReflexProcess, type ReflexProcess } from '../support/reflex-process.js';
import { eventually, startReceiver, type Receiver } from '../support/webhook-receiver.js';

/**
 * Webhooks end to end: reflex runs as its own process, receivers are real HTTP servers on
 * loopback (allowed by the test config; the default refuses loopback, see the last tests).
 */
const SHOP = `${ROOT}examples/shop/openapi.yaml`;
const T0 = Date.parse('2026-11-03T08:00:00Z');
let seq = 0;

/** A PATCH of order `key` that the shop spec turns into one OrderUpdated event with subject `key`. */
function orderUpdate(key: string, n: number) {
  seq++;
  return kongLog({
    id: `req-${seq}-${key}-${n}`, startedAt: T0 + seq, method: 'PATCH', path: `/v1/orders/${key}`, status: 200,
    requestBody: { note: n }, requestContentType: 'application/merge-patch+json',
    responseBody: { id: key, customerId: 'cus_1', status: 'paid', total: n, currency: 'EUR', items: [] },
  });
}

const dirs: string[] = [];
const processes: ReflexProcess[] = [];
const receivers: Receiver[] = [];

async function startReflex(yaml: string, dir = mkdtempSync(join(tmpdir(), 'reflex-webhooks-'))): Promise<{ reflex: ReflexProcess; dir: string }> {
  if (!dirs.includes(dir)) dirs.push(dir);
  writeFileSync(join(dir, 'reflex.yaml'), yaml);
  // cdc window 0: records are committed with the batch, so tests need not wait for the window.
  const reflex = await startReflexProcess(['--spec', SHOP, '--data', dir, '--config', join(dir, 'reflex.yaml')]);
  processes.push(reflex);
  return { reflex, dir };
}

const LOOPBACK_OK = (schedule = '[0s, 100ms, 200ms]', extra = '') =>
  `cdc: { reorderWindow: '0' }\nwebhooks: { allowPrivateAddresses: true, retrySchedule: ${schedule}, jitter: 0${extra} }\n`;

async function receiver(answer?: Receiver['answer'], port?: number): Promise<Receiver> {
  const r = await startReceiver(answer, port);
  receivers.push(r);
  return r;
}

async function api(method: string, url: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(url, { method, ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

async function ingest(reflex: ReflexProcess, logs: unknown[]): Promise<void> {
  const res = await api('POST', `${reflex.url}/ingest/kong`, logs);
  expect(res.status).toBe(200);
}

afterEach(async () => {
  for (const r of receivers.splice(0)) await r.close();
});
afterAll(async () => {
  for (const p of processes) await p.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('webhooks', () => {
  it('registers an endpoint and delivers signed CloudEvents that standardwebhooks verifies', async () => {
    const { reflex } = await startReflex(LOOPBACK_OK());
    const hook = await receiver();
    const created = await api('POST', `${reflex.url}/webhooks`, { url: hook.url, streams: ['orders'], description: 'billing' });
    expect(created.status).toBe(201);
    expect(created.body.secret).toMatch(/^whsec_[A-Za-z0-9+/=]+$/);
    expect(created.body).toMatchObject({ url: hook.url, streams: ['orders'], enabled: true, origin: 'api', description: 'billing' });

    await ingest(reflex, [orderUpdate('ord_1', 1), orderUpdate('ord_2', 2)]);
    await eventually(() => hook.delivered().length === 2, 10_000, 'two deliveries');
    await eventually(async () => (await api('GET', `${reflex.url}/webhooks/${created.body.id}`)).body.counts.delivered === 2, 5000, 'recorded deliveries');

    const verifier = new Webhook(created.body.secret);
    for (const r of hook.requests) {
      expect(r.headers['content-type']).toMatch(/^application\/cloudevents\+json/);
      const event = verifier.verify(r.body, { 'webhook-id': r.headers['webhook-id'] as string, 'webhook-timestamp': r.headers['webhook-timestamp'] as string, 'webhook-signature': r.headers['webhook-signature'] as string }) as any;
      expect(event).toMatchObject({ specversion: '1.0', type: 'com.shop.OrderUpdated', reflexstream: 'orders' });
      expect(r.headers['webhook-id']).toBe(event.id);
    }
    expect(hook.delivered().map((e) => e.subject).sort()).toEqual(['ord_1', 'ord_2']);
    // A wrong secret does not verify.
    expect(() => new Webhook('whsec_' + Buffer.alloc(24, 1).toString('base64')).verify(hook.requests[0]!.body, hook.requests[0]!.headers as any)).toThrow();

    // The secret is shown once, at creation, never in listings.
    const listed = await api('GET', `${reflex.url}/webhooks`);
    expect(JSON.stringify(listed.body)).not.toContain(created.body.secret);
    const one = await api('GET', `${reflex.url}/webhooks/${created.body.id}`);
    expect(one.body.secret).toBeUndefined();
    expect(one.body.counts).toMatchObject({ delivered: 2, pending: 0, dead: 0 });
    expect(reflex.output()).not.toContain(created.body.secret);

    const deliveries = await api('GET', `${reflex.url}/webhooks/${created.body.id}/deliveries`);
    expect(deliveries.body).toHaveLength(2);
    expect(deliveries.body[0]).toMatchObject({ statusCode: 204, error: null, attempt: 1, nextRetryAt: null });
    expect(typeof deliveries.body[0].latencyMs).toBe('number');
  });

  it('filters by type and by CEL over the event, and explains a broken filter with its position', async () => {
    const { reflex } = await startReflex(LOOPBACK_OK());
    const hook = await receiver();
    const bad = await api('POST', `${reflex.url}/webhooks`, { url: hook.url, streams: ['orders'], filter: 'event.data.total >' });
    expect(bad.status).toBe(400);
    expect(bad.body.field).toBe('/filter');
    const unknownStream = await api('POST', `${reflex.url}/webhooks`, { url: hook.url, streams: ['nope'] });
    expect(unknownStream.status).toBe(400);
    expect(unknownStream.body).toMatchObject({ field: '/streams/0' });
    expect(unknownStream.body.error).toContain('orders');

    const ok = await api('POST', `${reflex.url}/webhooks`, { url: hook.url, streams: ['*'], types: ['com.shop.Order*'], filter: 'event.data.total >= 10.0' });
    expect(ok.status).toBe(201);
    await ingest(reflex, [orderUpdate('ord_a', 5), orderUpdate('ord_b', 50)]);
    await eventually(() => hook.delivered().length >= 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(hook.delivered().map((e) => e.subject)).toEqual(['ord_b']);
  });

  it('delivers change records of a changelog stream inside CloudEvents typed <stream>.<created|updated>', async () => {
    const { reflex } = await startReflex(LOOPBACK_OK());
    const hook = await receiver();
    await api('POST', `${reflex.url}/webhooks`, { url: hook.url, streams: ['orders.changelog'] });
    const create = kongLog({
      id: 'req-cdc-create', startedAt: T0, method: 'POST', path: '/v1/orders', status: 201,
      requestBody: { customerId: 'cus_1', items: [{ sku: 'S', quantity: 1 }] },
      responseBody: { id: 'ord_cdc', customerId: 'cus_1', status: 'pending', total: 1, currency: 'EUR', items: [{ sku: 'S', quantity: 1 }] },
    });
    await ingest(reflex, [create, orderUpdate('ord_cdc', 2)]);
    await eventually(() => hook.delivered().length === 2);
    const [first, second] = hook.delivered();
    expect(first).toMatchObject({ specversion: '1.0', type: 'orders.changelog.created', subject: 'ord_cdc', reflexstream: 'orders.changelog', data: { op: 'c', key: 'ord_cdc' } });
    expect(second).toMatchObject({ type: 'orders.changelog.updated', data: { op: 'u', before: { total: 1 }, after: { total: 2 } } });
    expect(hook.requests[0]!.headers['webhook-id']).toBe(first.id);
  });

  it('retries a receiver that fails three times, then delivers each event exactly once', async () => {
    const { reflex } = await startReflex(LOOPBACK_OK('[0s, 50ms, 100ms, 150ms, 200ms]'));
    const failures = new Map<string, number>();
    const hook = await receiver(({ headers }) => {
      const id = headers['webhook-id'] as string;
      const n = failures.get(id) ?? 0;
      failures.set(id, n + 1);
      return n < 3 ? { status: n === 1 ? 503 : 500 } : { status: 200 };
    });
    const { body } = await api('POST', `${reflex.url}/webhooks`, { url: hook.url, streams: ['orders'] });
    await ingest(reflex, [orderUpdate('ord_r1', 1), orderUpdate('ord_r2', 2), orderUpdate('ord_r3', 3)]);
    await eventually(() => hook.delivered().length === 3, 10_000, 'three successful deliveries');
    await new Promise((r) => setTimeout(r, 300));
    const ids = hook.delivered().map((e) => e.id);
    expect(new Set(ids).size).toBe(3);
    expect(hook.requests).toHaveLength(12);
    const attempts = (await api('GET', `${reflex.url}/webhooks/${body.id}/deliveries?eventId=${ids[0]}`)).body;
    expect(attempts.map((a: any) => a.statusCode)).toEqual([200, 500, 503, 500]);
    expect(attempts[1].nextRetryAt).not.toBeNull();
    expect((await api('GET', `${reflex.url}/webhooks/${body.id}`)).body.counts).toMatchObject({ delivered: 3, pending: 0, dead: 0 });
  });

  it('keeps events of a receiver down for the whole schedule as dead letters, and replay delivers them', async () => {
    const { reflex } = await startReflex(LOOPBACK_OK('[0s, 50ms, 100ms]'));
    // Down: nothing listens on the port (connection refused).
    const probe = await receiver();
    const { port, url } = probe;
    await receivers.splice(receivers.indexOf(probe), 1)[0]!.close();
    const { body } = await api('POST', `${reflex.url}/webhooks`, { url, streams: ['orders'] });
    await ingest(reflex, [orderUpdate('ord_d1', 1), orderUpdate('ord_d2', 2)]);
    await eventually(async () => (await api('GET', `${reflex.url}/webhooks/${body.id}/dead-letters`)).body.length === 2, 10_000, 'two dead letters');
    const dead = (await api('GET', `${reflex.url}/webhooks/${body.id}/dead-letters`)).body;
    expect(dead[0]).toMatchObject({ status: 'dead', attempts: 3, lastStatusCode: null, key: 'ord_d1' });
    expect(dead[0].lastError).toContain('ECONNREFUSED');

    // Back up on the same port.
    const hook = await receiver(() => ({ status: 200 }), port);
    // One by id, the other through a replay of the stream from offset 1.
    const retried = await api('POST', `${reflex.url}/webhooks/${body.id}/deliveries/${dead[0].eventId}/retry`);
    expect(retried.status).toBe(202);
    await eventually(async () => (await api('GET', `${reflex.url}/webhooks/${body.id}`)).body.counts.delivered === 1);
    const replay = await api('POST', `${reflex.url}/webhooks/${body.id}/replay?from=1`);
    expect(replay.status).toBe(202);
    expect(replay.body.queued).toBe(2);
    await eventually(() => hook.delivered().length === 3);
    // Different keys: no order between them.
    expect(hook.delivered().map((e) => e.subject).sort()).toEqual(['ord_d1', 'ord_d1', 'ord_d2']);
    expect((await api('GET', `${reflex.url}/webhooks/${body.id}/dead-letters`)).body).toEqual([]);

    const badFrom = await api('POST', `${reflex.url}/webhooks/${body.id}/replay?from=yesterday`);
    expect(badFrom).toMatchObject({ status: 400, body: { field: '/from' } });
  });

  it('resumes a retry schedule after reflex is killed in the middle of it', async () => {
    const yaml = LOOPBACK_OK('[0s, 2s]');
    const first = await startReflex(yaml);
    let up = false;
    const hook = await receiver(() => ({ status: up ? 200 : 500 }));
    const { body } = await api('POST', `${first.reflex.url}/webhooks`, { url: hook.url, streams: ['orders'] });
    await ingest(first.reflex, [orderUpdate('ord_k', 1)]);
    await eventually(() => hook.requests.length === 1, 10_000, 'the first failed attempt');
    // Killed once the failure and its next attempt time are recorded (a crash before that repeats the attempt at once).
    await eventually(async () => (await api('GET', `${first.reflex.url}/webhooks/${body.id}/deliveries`)).body.length === 1, 5000, 'the recorded failure');
    await first.reflex.kill9();
    up = true;
    const restartedAt = Date.now();
    const second = await startReflex(yaml, first.dir);
    await eventually(() => hook.delivered().length === 1, 10_000, 'the retry after restart');
    expect(hook.delivered()[0].subject).toBe('ord_k');
    // It waited for its scheduled time (2 s after the failure), not a fresh start.
    expect(hook.requests[1]!.at - hook.requests[0]!.at).toBeGreaterThanOrEqual(1900);
    expect(Date.now() - restartedAt).toBeLessThan(8000);
    // Outcomes are recorded a few milliseconds after the answer.
    await eventually(async () => (await api('GET', `${second.reflex.url}/webhooks/${body.id}/deliveries`)).body.length === 2);
    const attempts = (await api('GET', `${second.reflex.url}/webhooks/${body.id}/deliveries`)).body;
    expect(attempts.map((a: any) => a.statusCode)).toEqual([200, 500]);
  });

  it('delivers the events of each key in order under concurrency, retries and slow answers', async () => {
    const { reflex } = await startReflex(LOOPBACK_OK('[0s, 20ms, 40ms, 60ms, 80ms, 100ms, 120ms, 140ms, 160ms, 180ms]', ', concurrency: 8'));
    let calls = 0;
    const hook = await receiver(() => {
      calls++;
      return { status: calls % 4 === 0 ? 500 : 200, delayMs: (calls * 7) % 30 };
    });
    await api('POST', `${reflex.url}/webhooks`, { url: hook.url, streams: ['orders'] });
    const keys = ['k1', 'k2', 'k3', 'k4', 'k5'];
    const logs = [];
    for (let n = 0; n < 100; n++) logs.push(orderUpdate(`ord_${keys[n % keys.length]}`, n));
    await ingest(reflex, logs.slice(0, 50));
    await ingest(reflex, logs.slice(50));
    await eventually(() => hook.delivered().length === 100, 20_000, '100 deliveries');
    for (const key of keys) {
      const totals = hook.delivered().filter((e) => e.subject === `ord_${key}`).map((e) => e.data.total);
      expect(totals).toEqual([...totals].sort((a, b) => a - b));
      expect(totals).toHaveLength(20);
    }
    expect(hook.requests.some((r) => r.status === 500)).toBe(true);
  });

  it('counts a receiver that does not answer within webhooks.timeout as a failed attempt, and keeps only the first bytes of an answer', async () => {
    const { reflex } = await startReflex(LOOPBACK_OK('[0s, 50ms]', ', timeout: 300ms, maxResponseBytes: 100'));
    const hook = await receiver(({ n }) => (n === 0 ? { status: 200, delayMs: 1500 } : { status: 200, body: 'x'.repeat(100_000) }));
    const { body } = await api('POST', `${reflex.url}/webhooks`, { url: hook.url, streams: ['orders'] });
    await ingest(reflex, [orderUpdate('ord_slow', 1)]);
    await eventually(async () => (await api('GET', `${reflex.url}/webhooks/${body.id}/deliveries`)).body.length === 2, 10_000, 'two attempts');
    const [second, first] = (await api('GET', `${reflex.url}/webhooks/${body.id}/deliveries`)).body;
    expect(first).toMatchObject({ statusCode: null, error: 'timed out' });
    expect(first.latencyMs).toBeLessThan(1000);
    expect(second).toMatchObject({ statusCode: 200, error: null });
    expect(second.responseBody).toBe('x'.repeat(100));
  });

  it('does not let a slow receiver delay a fast one', async () => {
    const { reflex } = await startReflex(LOOPBACK_OK('[0s]', ', concurrency: 2'));
    const slow = await receiver(() => ({ status: 200, delayMs: 2500 }));
    const fast = await receiver();
    await api('POST', `${reflex.url}/webhooks`, { url: slow.url, streams: ['orders'] });
    await api('POST', `${reflex.url}/webhooks`, { url: fast.url, streams: ['orders'] });
    const logs = [];
    for (let n = 0; n < 20; n++) logs.push(orderUpdate(`ord_s${n}`, n));
    await ingest(reflex, logs);
    await eventually(() => fast.delivered().length === 20, 5_000, 'the fast receiver');
    // The slow one answers two requests every 2.5 s: it is far behind when the fast one is done.
    expect(slow.requests.length).toBeLessThan(6);
  });

  it('disables an endpoint that answers 410 Gone, and one failing past disableAfter; enabling resumes delivery', async () => {
    const { reflex } = await startReflex(LOOPBACK_OK('[0s, 100ms, 100ms, 100ms, 100ms, 100ms, 100ms, 100ms]', ', disableAfter: 250ms'));
    const gone = await receiver(() => ({ status: 410 }));
    let up = false;
    const failing = await receiver(() => ({ status: up ? 200 : 502 }));
    const g = (await api('POST', `${reflex.url}/webhooks`, { url: gone.url, streams: ['orders'] })).body;
    const f = (await api('POST', `${reflex.url}/webhooks`, { url: failing.url, streams: ['orders'] })).body;
    await ingest(reflex, [orderUpdate('ord_g', 1)]);
    await eventually(async () => (await api('GET', `${reflex.url}/webhooks/${g.id}`)).body.enabled === false, 5000, '410 disabling');
    expect((await api('GET', `${reflex.url}/webhooks/${g.id}`)).body.disabledReason).toContain('410');
    await eventually(async () => (await api('GET', `${reflex.url}/webhooks/${f.id}`)).body.enabled === false, 5000, 'disableAfter');
    const disabled = (await api('GET', `${reflex.url}/webhooks/${f.id}`)).body;
    expect(disabled.disabledReason).toContain('failing since');
    expect(reflex.output()).toMatch(/webhook endpoint disabled .*webhook=ep_/);
    // That a disabled endpoint is sent nothing is timed in test/unit/webhook-delivery.test.ts.

    up = true;
    // Events that arrive while disabled wait for it; enabling delivers them and the pending one.
    await ingest(reflex, [orderUpdate('ord_g', 2)]);
    expect((await api('PATCH', `${reflex.url}/webhooks/${f.id}`, { enabled: true })).body.enabled).toBe(true);
    await eventually(() => failing.delivered().length === 2, 5000, 'delivery after enabling');
    expect(failing.delivered().map((e) => e.data.total)).toEqual([1, 2]);
  });

  it('rotates the secret: both secrets sign during the grace period', async () => {
    const { reflex } = await startReflex(LOOPBACK_OK());
    const hook = await receiver();
    const created = (await api('POST', `${reflex.url}/webhooks`, { url: hook.url, streams: ['orders'] })).body;
    const rotated = await api('POST', `${reflex.url}/webhooks/${created.id}/rotate-secret`);
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).not.toBe(created.secret);
    await ingest(reflex, [orderUpdate('ord_rot', 1)]);
    await eventually(() => hook.delivered().length === 1);
    const r = hook.requests[0]!;
    const headers = { 'webhook-id': r.headers['webhook-id'] as string, 'webhook-timestamp': r.headers['webhook-timestamp'] as string, 'webhook-signature': r.headers['webhook-signature'] as string };
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
    expect(() => new Webhook(created.secret).verify(r.body, headers)).not.toThrow();
    expect(() => new Webhook(rotated.body.secret).verify(r.body, headers)).not.toThrow();
  });

  it('reads webhooks from reflex.yaml, and does not follow redirects', async () => {
    const redirect = await receiver(() => ({ status: 302, headers: { location: 'http://127.0.0.1:1/elsewhere' } }));
    const secret = 'whsec_' + Buffer.alloc(32, 7).toString('base64');
    const { reflex } = await startReflex(`${LOOPBACK_OK('[0s]')}sinks:\n  - { type: webhook, name: billing, url: "${redirect.url}", streams: [orders], secret: "${secret}" }\n`);
    const listed = (await api('GET', `${reflex.url}/webhooks`)).body;
    expect(listed).toEqual([expect.objectContaining({ id: 'billing', origin: 'config', url: redirect.url })]);
    expect((await api('DELETE', `${reflex.url}/webhooks/billing`)).status).toBe(409);
    await ingest(reflex, [orderUpdate('ord_redirect', 1)]);
    await eventually(async () => (await api('GET', `${reflex.url}/webhooks/billing/dead-letters`)).body.length === 1);
    expect(redirect.requests).toHaveLength(1);
    expect(() => new Webhook(secret).verify(redirect.requests[0]!.body, redirect.requests[0]!.headers as any)).not.toThrow();
    const attempt = (await api('GET', `${reflex.url}/webhooks/billing/deliveries`)).body[0];
    expect(attempt).toMatchObject({ statusCode: 302, error: 'HTTP 302' });
  });
});

describe('webhooks: address safety with the default config', () => {
  it('refuses loopback and private URLs when registering, and a hostname that resolves to one when delivering', async () => {
    const { reflex } = await startReflex("cdc: { reorderWindow: '0' }\nwebhooks: { retrySchedule: [0s] }\n");
    const hook = await receiver();
    for (const url of [hook.url, 'http://10.1.2.3/x', 'http://[::1]:9/x', 'http://169.254.169.254/latest/meta-data', 'http://localhost:9/x']) {
      const res = await api('POST', `${reflex.url}/webhooks`, { url, streams: ['orders'] });
      expect(res.status, url).toBe(400);
      expect(res.body.field).toBe('/url');
      expect(res.body.error).toContain('allowPrivateAddresses');
    }
    expect((await api('POST', `${reflex.url}/webhooks`, { url: 'ftp://example.com/x', streams: ['orders'] })).body.error).toContain('http or https');

    // This machine's own name resolves to a loopback or private address (checked here first).
    const name = hostname();
    const resolved = await lookup(name);
    expect(isForbiddenAddress(resolved.address), `${name} -> ${resolved.address}`).toBe(true);
    const sneaky = await api('POST', `${reflex.url}/webhooks`, { url: `http://${name}:${hook.port}/hook`, streams: ['orders'] });
    expect(sneaky.status).toBe(201);
    await ingest(reflex, [orderUpdate('ord_ssrf', 1)]);
    await eventually(async () => (await api('GET', `${reflex.url}/webhooks/${sneaky.body.id}/dead-letters`)).body.length === 1);
    expect(hook.requests).toHaveLength(0);
    const attempt = (await api('GET', `${reflex.url}/webhooks/${sneaky.body.id}/deliveries`)).body[0];
    expect(attempt.statusCode).toBeNull();
    expect(attempt.error).toContain(`${name} resolves to`);
  });

  it('refuses to start with a webhook in reflex.yaml that points at a private address, naming the file and line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reflex-webhooks-'));
    dirs.push(dir);
    const secret = 'whsec_' + Buffer.alloc(32, 7).toString('base64');
    writeFileSync(join(dir, 'reflex.yaml'), `sinks:\n  - { type: webhook, name: internal, url: "http://10.0.0.8/hook", streams: [orders], secret: "${secret}" }\n`);
    await expect(startReflexProcess(['--spec', SHOP, '--data', dir, '--config', join(dir, 'reflex.yaml')]))
      .rejects.toThrow(/reflex\.yaml:2:\d+: sink 'internal': 10\.0\.0\.8 resolves to 10\.0\.0\.8.*allowPrivateAddresses to deliver there \(at \/url\)/);
  });
});
