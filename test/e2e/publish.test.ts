import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, startReflexProcess, type ReflexProcess } from '../support/reflex-process.js';
import { eventually, startReceiver, type Receiver } from '../support/webhook-receiver.js';

// Applications publish their own events (issue 20): the three modes of the CloudEvents HTTP binding,
// validation with a JSON pointer, id+source deduplication, one writer per stream, and the events
// flowing to webhooks like synthesized ones.
const SHOP = `${ROOT}examples/shop/openapi.yaml`;
const STRUCTURED = { 'content-type': 'application/cloudevents+json' };
const BATCH = { 'content-type': 'application/cloudevents-batch+json' };

let dir: string;
let reflex: ReflexProcess;
let hook: Receiver;

const event = (id: string, extra: Record<string, unknown> = {}) => ({ specversion: '1.0', id, source: '/jobs/nightly', type: 'com.shop.JobFinished', time: '2026-12-02T03:00:00Z', data: { rows: 42 }, ...extra });

async function publish(stream: string, headers: Record<string, string>, body: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${reflex.url}/streams/${stream}/events`, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}
const records = async (stream: string) => (await (await fetch(`${reflex.url}/streams/${stream}/events?limit=1000`)).json()) as Array<{ offset: number; key: string | null; value: any }>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'reflex-publish-'));
  writeFileSync(join(dir, 'reflex.yaml'), `webhooks: { allowPrivateAddresses: true, retrySchedule: [0s, 100ms], jitter: 0 }\n`);
  reflex = await startReflexProcess(['--spec', SHOP, '--data', dir, '--config', join(dir, 'reflex.yaml')]);
  hook = await startReceiver();
});
afterAll(async () => {
  await reflex?.stop();
  await hook?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('POST /streams/{name}/events', () => {
  it('takes structured, batched and binary events, answers their offsets, and stores them as sent', async () => {
    const one = await publish('jobs', STRUCTURED, event('job-1', { subject: 'nightly' }));
    expect(one).toMatchObject({ status: 200, body: { stream: 'jobs', producer: 'default', events: [{ id: 'job-1', source: '/jobs/nightly', offset: expect.any(Number) }] } });

    const two = await publish('jobs', BATCH, [event('job-2'), event('job-3')]);
    expect(two.status).toBe(200);
    const [a, b] = two.body.events.map((e: { offset: number }) => e.offset);
    expect(b).toBe(a + 1);
    expect(a).toBeGreaterThan(one.body.events[0].offset);

    const binary = await fetch(`${reflex.url}/streams/jobs/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'ce-specversion': '1.0', 'ce-id': 'job-4', 'ce-source': '/jobs/nightly', 'ce-type': 'com.shop.JobFinished', 'ce-partitionkey': 'nightly' },
      body: JSON.stringify({ rows: 7 }),
    });
    expect(binary.status).toBe(200);

    const stored = await records('jobs');
    expect(stored.map((r) => r.value.id)).toEqual(['job-1', 'job-2', 'job-3', 'job-4']);
    expect(stored[0]).toMatchObject({ key: 'nightly', value: event('job-1', { subject: 'nightly' }) });
    expect(stored[3]).toMatchObject({ key: 'nightly', value: { specversion: '1.0', id: 'job-4', type: 'com.shop.JobFinished', datacontenttype: 'application/json', data: { rows: 7 } } });
  });

  it('stores an id+source once: a re-sent event is answered as a duplicate, with no offset', async () => {
    const again = await publish('jobs', BATCH, [event('job-1'), event('job-5'), event('job-5')]);
    expect(again.status).toBe(200);
    expect(again.body.events).toEqual([
      { id: 'job-1', source: '/jobs/nightly', offset: null, duplicate: true },
      { id: 'job-5', source: '/jobs/nightly', offset: expect.any(Number) },
      { id: 'job-5', source: '/jobs/nightly', offset: null, duplicate: true },
    ]);
    // Another source may reuse the id.
    expect((await publish('jobs', STRUCTURED, event('job-1', { source: '/jobs/weekly' }))).body.events[0].offset).toEqual(expect.any(Number));
    expect((await records('jobs')).map((r) => `${r.value.source} ${r.value.id}`).filter((k) => k === '/jobs/nightly job-1')).toHaveLength(1);
  });

  it('refuses an event that breaks CloudEvents 1.0 with 400 and the JSON pointer, storing nothing of the request', async () => {
    const before = (await records('jobs')).length;
    const cases: Array<[Record<string, string>, unknown, string]> = [
      [STRUCTURED, { ...event('x'), type: undefined }, '/type'],
      [STRUCTURED, event('x', { specversion: '0.3' }), '/specversion'],
      [BATCH, [event('ok-1'), event('bad', { time: 'yesterday' })], '/1/time'],
      [STRUCTURED, event('x', { Bad_Name: 1 }), '/Bad_Name'],
      [STRUCTURED, '{"specversion": "1.0",', ''],
      [{ 'content-type': 'application/json' }, { rows: 1 }, ''],
    ];
    for (const [headers, body, pointer] of cases) {
      const res = await publish('jobs', headers, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body).toMatchObject({ code: 'BAD_CLOUDEVENT', pointer });
    }
    expect((await records('jobs')).length).toBe(before);
  });

  it('a stream the rules write refuses producers with 423', async () => {
    const res = await publish('orders', STRUCTURED, event('o-1'));
    expect(res).toMatchObject({ status: 423, body: { code: 'STREAM_LOCKED', error: expect.stringMatching(/written by the specs' rules/) } });
  });

  it('an application stream has one writer: a second producer gets 423 until the stream is handed over', async () => {
    const as = (producer: string, id: string) => publish('reports', { ...STRUCTURED, 'x-producer-id': producer }, event(id));
    expect((await as('billing', 'r-1')).status).toBe(200);
    expect(await as('finance', 'r-2')).toMatchObject({ status: 423, body: { producer: 'billing' } });
    expect((await as('billing', 'r-3')).status).toBe(200);

    const handover = await fetch(`${reflex.url}/streams/reports/producer`, { method: 'DELETE' });
    expect(await handover.json()).toEqual({ stream: 'reports', released: 'billing' });
    expect((await as('finance', 'r-4')).status).toBe(200);
    expect(await as('billing', 'r-5')).toMatchObject({ status: 423, body: { producer: 'finance' } });
    expect((await records('reports')).map((r) => r.value.id)).toEqual(['r-1', 'r-3', 'r-4']);
  });

  it('published events reach a webhook like synthesized ones', async () => {
    const created = await fetch(`${reflex.url}/webhooks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: hook.url, streams: ['jobs'] }) });
    expect(created.status).toBe(201);
    expect((await publish('jobs', STRUCTURED, event('job-hooked'))).status).toBe(200);
    await eventually(() => hook.delivered().some((b) => b.id === 'job-hooked'), 10_000, 'the published event delivered');
    expect(hook.delivered().find((b) => b.id === 'job-hooked')).toMatchObject({ type: 'com.shop.JobFinished', source: '/jobs/nightly', data: { rows: 42 } });
  });
});

describe('per-event acknowledgement', () => {
  const get = async (query: string) => ((await (await fetch(`${reflex.url}/streams/tasks/events?${query}`)).json()) as Array<{ offset: number }>).map((r) => r.offset);
  const send = async (offset: number, verb: 'ack' | 'nack', body: Record<string, string>) => {
    const res = await fetch(`${reflex.url}/streams/tasks/events/${offset}/${verb}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as any };
  };

  it('out of order: unacknowledged events come back after the visibility timeout, the offset advances only over the acknowledged prefix', async () => {
    const published = await publish('tasks', BATCH, [1, 2, 3, 4, 5].map((n) => event(`t-${n}`)));
    const [o1, o2, o3, o4, o5] = published.body.events.map((e: { offset: number }) => e.offset) as number[];

    expect(await get('consumer=w&visibility=3s&limit=3')).toEqual([o1, o2, o3]);
    expect(await get('consumer=w&visibility=3s&limit=3')).toEqual([o4, o5]); // the first three are in flight
    expect(await send(o2!, 'ack', { consumer: 'w' })).toMatchObject({ status: 200, body: { acknowledged: o2, committed: 0 } });
    expect((await send(o3!, 'ack', { consumer: 'w' })).body.committed).toBe(0); // o1 is not acknowledged: nothing commits
    expect(await send(o5!, 'nack', { consumer: 'w' })).toMatchObject({ status: 200, body: { returned: o5 } });
    expect(await get('consumer=w&visibility=3s')).toEqual([o5]); // given back at once; the rest in flight

    await new Promise((r) => setTimeout(r, 3_100)); // past every lease (3 s; generous for a busy machine)
    expect(await get('consumer=w&visibility=3s')).toEqual([o1, o4, o5]); // every lease ended; o2, o3 stay acknowledged
    expect((await send(o1!, 'ack', { consumer: 'w' })).body.committed).toBe(o3);
    const offsets = (await (await fetch(`${reflex.url}/streams/tasks/offsets`)).json()) as Array<{ consumer: string; offset: number }>;
    expect(offsets.find((c) => c.consumer === 'w')?.offset).toBe(o3);
    // Another consumer has its own acknowledgements.
    expect(await get('consumer=other&limit=2')).toEqual([o1, o2]);

    expect(await send(o2!, 'nack', { consumer: 'w' })).toMatchObject({ status: 409 }); // acknowledged, committed
    expect(await send(999_999, 'ack', { consumer: 'w' })).toMatchObject({ status: 400, body: { parameter: 'offset' } });
    expect(await send(o4!, 'nack', { consumer: 'w', delay: 'soon' })).toMatchObject({ status: 400, body: { parameter: 'delay' } });
  });
});

describe('after kill -9', () => {
  it('what was acknowledged is there, its offsets unchanged, a re-sent event is still a duplicate, and consumer acknowledgements are kept', async () => {
    const killDir = mkdtempSync(join(tmpdir(), 'reflex-publish-kill-'));
    let first = await startReflexProcess(['--spec', SHOP, '--data', killDir]);
    try {
      const res = await fetch(`${first.url}/streams/audit-log/events`, { method: 'POST', headers: BATCH, body: JSON.stringify([event('k-1'), event('k-2')]) });
      const offsets = ((await res.json()) as { events: Array<{ offset: number }> }).events.map((e) => e.offset);
      await first.kill9();
      first = await startReflexProcess(['--spec', SHOP, '--data', killDir]);
      const stored = (await (await fetch(`${first.url}/streams/audit-log/events`)).json()) as Array<{ offset: number; value: { id: string } }>;
      expect(stored.map((r) => [r.offset, r.value.id])).toEqual([[offsets[0], 'k-1'], [offsets[1], 'k-2']]);
      const again = await fetch(`${first.url}/streams/audit-log/events`, { method: 'POST', headers: STRUCTURED, body: JSON.stringify(event('k-2')) });
      expect(((await again.json()) as { events: unknown[] }).events).toEqual([{ id: 'k-2', source: '/jobs/nightly', offset: null, duplicate: true }]);

      // Acknowledgements survive too: k-2 acknowledged out of order, then kill -9.
      const ack = await fetch(`${first.url}/streams/audit-log/events/${offsets[1]}/ack`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ consumer: 'auditor' }) });
      expect(ack.status).toBe(200);
      await first.kill9();
      first = await startReflexProcess(['--spec', SHOP, '--data', killDir]);
      const open = (await (await fetch(`${first.url}/streams/audit-log/events?consumer=auditor`)).json()) as Array<{ value: { id: string } }>;
      expect(open.map((r) => r.value.id)).toEqual(['k-1']);
    } finally {
      await first.kill9();
      rmSync(killDir, { recursive: true, force: true });
    }
  });
});

describe('server.publishAuth', () => {
  it('publishing needs its own credential: 401 without it, the API credential is not enough', async () => {
    const authDir = mkdtempSync(join(tmpdir(), 'reflex-publish-auth-'));
    writeFileSync(join(authDir, 'reflex.yaml'), 'server: { publishAuth: { token: publish-secret-0123456789 }, apiAuth: { token: api-secret-0123456789 } }\n');
    const guarded = await startReflexProcess(['--spec', SHOP, '--data', authDir, '--config', join(authDir, 'reflex.yaml')]);
    try {
      const post = (auth?: string) => fetch(`${guarded.url}/streams/jobs/events`, { method: 'POST', headers: { ...STRUCTURED, ...(auth ? { authorization: auth } : {}) }, body: JSON.stringify(event('g-1')) });
      expect((await post()).status).toBe(401);
      expect((await post('Bearer api-secret-0123456789')).status).toBe(401);
      expect((await post('Bearer publish-secret-0123456789')).status).toBe(200);
      // Reading stays behind apiAuth.
      expect((await fetch(`${guarded.url}/streams/jobs/events`, { headers: { authorization: 'Bearer publish-secret-0123456789' } })).status).toBe(401);
      expect((await fetch(`${guarded.url}/streams/jobs/events`, { headers: { authorization: 'Bearer api-secret-0123456789' } })).status).toBe(200);
    } finally {
      await guarded.stop();
      rmSync(authDir, { recursive: true, force: true });
    }
  });
});
