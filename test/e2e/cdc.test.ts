import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { kongLog } from '../support/kong-log.js';
import { ROOT, runCli, startReflexProcess, type ReflexProcess } from '../support/reflex-process.js';

const SHOP = `${ROOT}examples/shop/openapi.yaml`;
const session = readFileSync(`${ROOT}examples/shop/kong-session.ndjson`, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);

const dirs: string[] = [];
const running: ReflexProcess[] = [];
afterEach(async () => {
  for (const r of running.splice(0)) await r.stop();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function start(window: string, dir?: string): Promise<{ reflex: ReflexProcess; dir: string }> {
  const d = dir ?? mkdtempSync(join(tmpdir(), 'reflex-cdc-'));
  if (!dir) dirs.push(d);
  writeFileSync(join(d, 'reflex.yaml'), `cdc: { reorderWindow: "${window}" }\n`);
  const reflex = await startReflexProcess(['--spec', SHOP, '--data', d, '--config', join(d, 'reflex.yaml')]);
  running.push(reflex);
  return { reflex, dir: d };
}
const post = async (url: string, entries: unknown[]) => {
  const res = await fetch(`${url}/ingest/kong`, { method: 'POST', body: JSON.stringify(entries), headers: { 'content-type': 'application/json' } });
  expect(res.status).toBe(200);
  return (await res.json()) as { accepted: number; duplicates: number; records: number };
};
const get = async (url: string) => {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as any };
};
/** Every change record of a resource, page by page (a load can leave more than one page). */
const changelog = async (url: string, resource: string) => {
  const out: Array<{ offset: number; value: any }> = [];
  for (;;) {
    const page = (await get(`${url}/streams/${resource}.changelog/events?after=${out.at(-1)?.offset ?? 0}&limit=1000`)).body as Array<{ offset: number; value: any }>;
    out.push(...page);
    if (page.length < 1000) return out.map((r) => r.value);
  }
};
const waitForPending = async (url: string) => {
  for (let i = 0; i < 200; i++) {
    const resources = (await get(`${url}/resources`)).body as Array<{ pending: number }>;
    if (resources.every((r) => r.pending === 0)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('changes still pending');
};

describe('change data capture over HTTP', () => {
  it('keeps the current state of each key, with version and time, and its change records', async () => {
    const { reflex } = await start('0');
    await post(reflex.url, session);
    const order = await get(`${reflex.url}/resources/orders/ord_5002`);
    expect(order).toMatchObject({ status: 200, body: { key: 'ord_5002', version: 2, time: '2026-11-02T09:15:13.120Z', state: { status: 'cancelled', cancellationReason: 'changed my mind' } } });
    const customer = await get(`${reflex.url}/resources/customers/cus_1001`);
    expect(customer).toMatchObject({ status: 404, body: { deleted: true, version: 3 } });
    expect((await get(`${reflex.url}/resources/orders`)).body.map((r: any) => [r.key, r.state.status])).toEqual([['ord_5001', 'pending'], ['ord_5002', 'cancelled']]);
    expect((await get(`${reflex.url}/resources/orders?after=ord_5001`)).body.map((r: any) => r.key)).toEqual(['ord_5002']);
    expect((await get(`${reflex.url}/resources/nope/x`)).status).toBe(404);

    const changes = await changelog(reflex.url, 'orders');
    expect(changes.map((c) => [c.op, c.key, c.changed])).toEqual([
      ['c', 'ord_5001', ['']],
      ['u', 'ord_5001', ['/note']],
      ['c', 'ord_5002', ['']],
      ['u', 'ord_5002', ['/cancellationReason', '/status']],
    ]);
    expect(changes[1]).toMatchObject({
      before: { status: 'pending' },
      after: { note: 'leave at the door' },
      ts_ms: Date.parse('2026-11-02T09:14:23.120Z'),
      source: { gateway: 'kong', operationId: 'updateOrder', method: 'PATCH', path: '/shop/v1/orders/ord_5001' },
    });
    expect((await get(`${reflex.url}/resources`)).body).toEqual([
      { name: 'customers', keys: 0, deleted: 1, late: 0, skipped: 0, pending: 0 },
      { name: 'orders', keys: 2, deleted: 0, late: 0, skipped: 0, pending: 0 },
    ]);
  });

  it('applies logs shuffled within the reorder window in request-time order: same state and change records as in order', async () => {
    const inOrder = await runCli(['test', 'examples/shop/openapi.yaml', '--logs', 'examples/shop/kong-session.ndjson']);
    const expected = inOrder.stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((r) => r.stream.endsWith('.changelog'));

    const { reflex } = await start('1500ms');
    // Two gateway nodes: each sends its own logs in order, the two streams interleave late.
    const nodeA = session.filter((_, i) => i % 2 === 0);
    const nodeB = session.filter((_, i) => i % 2 === 1);
    for (const batch of [nodeB.slice(3), nodeA.slice(0, 4), nodeB.slice(0, 3), nodeA.slice(4)]) await post(reflex.url, batch);
    await waitForPending(reflex.url);
    const actual = [...(await changelog(reflex.url, 'customers')), ...(await changelog(reflex.url, 'orders'))];
    const key = (c: any) => `${c.key}@${c.ts_ms}:${c.op}`;
    expect(actual.map(key).sort()).toEqual(expected.map((r: any) => key(r.value)).sort());
    expect(actual).toEqual(expect.arrayContaining(expected.map((r: any) => r.value)));
    expect((await get(`${reflex.url}/resources/orders/ord_5002`)).body.state.status).toBe('cancelled');
  });

  it('counts a log older than the stored state as late: no change record, no rollback, its events still kept', async () => {
    const { reflex } = await start('0');
    const t = Date.parse('2026-11-03T08:00:00Z');
    const order = (id: string, at: number, status: string, method = 'PATCH') => kongLog({
      id, startedAt: at, method, path: method === 'POST' ? '/v1/orders' : '/v1/orders/ord_1', status: method === 'POST' ? 201 : 200,
      requestBody: { status, items: [{ sku: 'S', quantity: 1 }] }, responseBody: { id: 'ord_1', customerId: 'c', status, total: 1, currency: 'EUR', items: [] },
    });
    await post(reflex.url, [order('r1', t, 'pending', 'POST'), order('r3', t + 2000, 'cancelled')]);
    await post(reflex.url, [order('r2', t + 1000, 'paid')]);
    expect((await get(`${reflex.url}/resources/orders/ord_1`)).body.state.status).toBe('cancelled');
    expect((await changelog(reflex.url, 'orders')).map((c) => c.op)).toEqual(['c', 'u']);
    expect((await get(`${reflex.url}/resources`)).body.find((r: any) => r.name === 'orders').late).toBe(1);
    const events = (await get(`${reflex.url}/streams/orders/events`)).body.map((r: any) => r.value.reflexrequestid);
    expect(events).toContain('r2');
  });

  it('sends an exchange whose resource key is empty to the dead letters with the reason', async () => {
    const { reflex } = await start('0');
    const noId = kongLog({ id: 'noid', startedAt: Date.parse('2026-11-03T08:00:00Z'), method: 'POST', path: '/v1/customers', status: 201, responseBody: { email: 'x@example.com', name: 'X' } });
    const answer = await post(reflex.url, [noId]);
    expect(answer).toMatchObject({ accepted: 1, records: 0 });
    const [dl] = (await get(`${reflex.url}/dead-letters`)).body;
    expect(dl.diagnostic).toMatchObject({ code: 'RX405' });
    expect(dl.diagnostic.message).toContain('the key of event CustomerRegistered is empty');
  });

  it('after kill -9 in the middle of a load, state and change records agree and nothing acknowledged is missing', async () => {
    let { reflex, dir } = await start('0');
    const t = Date.parse('2026-11-04T00:00:00Z');
    const batches: unknown[][] = [];
    let n = 0;
    for (let b = 0; b < 60; b++) {
      const batch = [];
      for (let i = 0; i < 50; i++) {
        n++;
        const key = `ord_${n % 40}`;
        const status = ['pending', 'paid', 'shipped'][n % 3]!;
        batch.push(kongLog({
          id: `load-${n}`, startedAt: t + n, method: n <= 40 ? 'POST' : 'PATCH', path: n <= 40 ? '/v1/orders' : `/v1/orders/${key}`, status: n <= 40 ? 201 : 200,
          requestBody: { status, items: [{ sku: 'S', quantity: 1 }] }, responseBody: { id: key, customerId: 'c', status, total: n, currency: 'EUR', items: [] },
        }));
      }
      batches.push(batch);
    }
    const acknowledged = new Set<number>();
    const inflight = batches.map((batch, i) =>
      fetch(`${reflex.url}/ingest/kong`, { method: 'POST', body: JSON.stringify(batch), headers: { 'content-type': 'application/json' } })
        .then((res) => { if (res.status === 200) acknowledged.add(i); })
        .catch(() => undefined));
    while (acknowledged.size < 5) await new Promise((r) => setTimeout(r, 5));
    await reflex.kill9();
    await Promise.all(inflight);
    expect(acknowledged.size).toBeLessThan(batches.length); // the kill came in the middle

    reflex = (await start('0', dir)).reflex;
    for (const i of acknowledged) {
      const again = await post(reflex.url, batches[i]!);
      expect(again.duplicates, `batch ${i} was acknowledged before the kill`).toBe(50);
    }
    const replayed = new Map<string, unknown>();
    for (const c of await changelog(reflex.url, 'orders')) replayed.set(c.key, c.after);
    const states = (await get(`${reflex.url}/resources/orders?limit=1000`)).body as Array<{ key: string; state: unknown }>;
    expect(new Map(states.map((s) => [s.key, s.state]))).toEqual(replayed);
  }, 60_000);
});

describe('change records do not depend on how fast or how concurrently a log is replayed', () => {
  it('the same file posted in order, and at full speed with 8 batches in flight, gives identical change records', async () => {
    // 3,000 logs 10 ms apart over 20 orders: 8 batches of 100 span 8 s of request time, more than the 3 s window.
    const t = Date.parse('2026-11-05T00:00:00Z');
    const logs = Array.from({ length: 3000 }, (_, n) => {
      const key = `ord_${n % 20}`;
      const create = n < 20;
      const round = Math.floor(n / 20);
      const status = ['pending', 'paid', 'packed', 'shipped'][round % 4]!;
      return kongLog({
        id: `replay-${n}`, startedAt: t + n * 10, method: create ? 'POST' : 'PATCH', path: create ? '/v1/orders' : `/v1/orders/${key}`, status: create ? 201 : 200,
        requestBody: { status, items: [{ sku: 'S', quantity: 1 }] }, responseBody: { id: key, customerId: 'c', status, total: round % 3, currency: 'EUR', items: [] },
      });
    });
    const batches = Array.from({ length: logs.length / 100 }, (_, i) => logs.slice(i * 100, i * 100 + 100));
    const allChanges = async (url: string) => {
      const out: any[] = [];
      for (let after = 0; ;) {
        const page = (await get(`${url}/streams/orders.changelog/events?after=${after}&limit=1000`)).body as Array<{ offset: number; value: any }>;
        if (page.length === 0) return out;
        out.push(...page.map((r) => r.value));
        after = page.at(-1)!.offset;
      }
    };
    /** Each key's change records in order: what a consumer of the changelog sees of it. */
    const byKey = (changes: any[]) => {
      const m = new Map<string, any[]>();
      for (const c of changes) m.set(c.key, [...(m.get(c.key) ?? []), c]);
      return new Map([...m].sort(([a], [b]) => (a < b ? -1 : 1)));
    };

    const inOrder = (await start('3s')).reflex;
    for (const b of batches) await post(inOrder.url, b);
    const fast = (await start('3s')).reflex;
    let next = 0;
    await Promise.all(Array.from({ length: 8 }, async () => {
      while (next < batches.length) await post(fast.url, batches[next++]!);
    }));
    await waitForPending(inOrder.url);
    await waitForPending(fast.url);

    const expected = await allChanges(inOrder.url);
    expect(expected.length).toBeGreaterThan(2000);
    expect(byKey(await allChanges(fast.url))).toEqual(byKey(expected));
    for (const url of [inOrder.url, fast.url]) expect((await get(`${url}/resources`)).body.find((r: any) => r.name === 'orders')).toMatchObject({ late: 0, pending: 0 });
  }, 60_000);
});
