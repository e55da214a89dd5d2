import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DeliveryThread } from '../../connectors/sinks/webhook/delivery-thread-client.js';
import { WebhookService } from '../../connectors/sinks/webhook/service.js';
import { DEFAULT_WEBHOOK_SETTINGS } from '../../src/config/webhook-settings.js';
import { createLogger } from '../../src/logger.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';

const SECRET = 'whsec_' + Buffer.alloc(32, 7).toString('base64');
const OPTIONS = { allowPrivateAddresses: true, timeoutMs: 300, maxResponseBytes: 5, connections: 4 };

/** Standard Webhooks verification, written from the spec rather than from signing.ts. */
function verified(headers: IncomingMessage['headers'], body: string): boolean {
  const key = Buffer.from(SECRET.slice('whsec_'.length), 'base64');
  const expected = createHmac('sha256', key).update(`${headers['webhook-id']}.${headers['webhook-timestamp']}.${body}`).digest('base64');
  return String(headers['webhook-signature']).split(' ').includes(`v1,${expected}`);
}

interface Received {
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
  res: ServerResponse;
}

describe('webhook delivery thread', () => {
  let server: Server;
  let base: string;
  let onRequest: (r: Received) => void = () => undefined;
  const threads: DeliveryThread[] = [];
  const dirs: string[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (body += chunk));
      req.on('end', () => onRequest({ path: req.url ?? '', headers: req.headers, body, res }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterEach(async () => {
    await Promise.all(threads.splice(0).map((t) => t.close()));
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  it('signs on the thread and tells its outcomes apart as the client on the main thread does', async () => {
    const seen: Received[] = [];
    onRequest = (r) => {
      seen.push(r);
      if (r.path === '/ok') return r.res.writeHead(200).end('fine, thanks');
      if (r.path === '/busy') return r.res.writeHead(503, { 'retry-after': '7' }).end();
      // /slow: never answers within the timeout.
      setTimeout(() => r.res.writeHead(200).end(), 2000).unref();
    };
    const thread = new DeliveryThread(createLogger({ write: () => undefined }));
    threads.push(thread);
    const client = thread.connect(OPTIONS);
    const signing = { eventId: 'evt-1', timestampSeconds: 1_700_000_000, secrets: [SECRET] };
    const [ok, busy, slow, down] = await Promise.all([
      client.postSigned!(new URL(`${base}/ok`), signing, '{"n":1}'),
      client.postSigned!(new URL(`${base}/busy`), signing, '{"n":2}'),
      client.postSigned!(new URL(`${base}/slow`), signing, '{"n":3}'),
      client.postSigned!(new URL('http://127.0.0.1:1/x'), signing, '{"n":4}'),
    ]);
    expect(ok).toMatchObject({ kind: 'delivered', status: 200, responseBody: 'fine,' });
    expect(busy).toMatchObject({ kind: 'failed-status', status: 503, retryAfter: '7' });
    expect(slow).toMatchObject({ kind: 'timeout' });
    expect(down.kind === 'network-error' && down.error).toContain('ECONNREFUSED');
    const okRequest = seen.find((r) => r.path === '/ok')!;
    expect(okRequest.headers).toMatchObject({ 'webhook-id': 'evt-1', 'webhook-timestamp': '1700000000', 'content-type': 'application/cloudevents+json; charset=utf-8' });
    expect(verified(okRequest.headers, okRequest.body)).toBe(true);
    // Unsigned posts keep the headers they were given.
    const plain = await client.post(new URL(`${base}/ok`), { 'x-test': 'yes' }, '{}');
    expect(plain.kind).toBe('delivered');
    expect(seen.at(-1)!.headers['x-test']).toBe('yes');
  });

  it('sends the deliveries a dead thread had in flight again, without counting them as attempts, and says so', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reflex-wh-thread-'));
    dirs.push(dir);
    const store = new SqliteStore({ path: join(dir, 'reflex.db'), retentionMs: 0, dedupeWindowMs: 86_400_000 });
    store.ensureStreams([{ name: 'orders', kind: 'events' }]);
    const lines: string[] = [];
    const logger = createLogger({ write: (l) => lines.push(l) });
    const thread = new DeliveryThread(logger);
    threads.push(thread);
    const settings = { ...DEFAULT_WEBHOOK_SETTINGS, allowPrivateAddresses: true, concurrency: 4 };
    const service = new WebhookService({ log: store, subscriptions: store.subscriptions, database: store.db }, settings, logger, {
      connect: (s) => thread.connect({ ...OPTIONS, timeoutMs: s.timeoutMs, connections: s.concurrency }),
    });
    // The first deliveries are held unanswered until the thread that sent them is gone.
    const held: Received[] = [];
    const received: Received[] = [];
    let holding = true;
    onRequest = (r) => {
      received.push(r);
      if (holding) held.push(r);
      else r.res.writeHead(204).end();
    };
    const { id } = service.create({ url: `${base}/hook`, streams: ['orders'], secret: SECRET });
    const events = Array.from({ length: 12 }, (_, i) => ({
      stream: 'orders', key: `ord_${i % 6}`,
      value: { specversion: '1.0', id: `evt-${i}`, source: 'test', type: 'com.shop.OrderUpdated', subject: `ord_${i % 6}`, time: '2026-11-03T08:00:00.000Z', data: { i } },
    }));
    store.commit({ entries: events.map((record, i) => ({ requestKey: `k-${i}`, records: [record] })) });
    service.start();
    try {
      await until(() => held.length === 4);
      await thread.terminate();
      holding = false;
      for (const r of held) r.res.destroy();
      await until(() => service.get(id)!.counts.delivered === 12);
      const counts = service.get(id)!.counts;
      expect(counts).toMatchObject({ delivered: 12, dead: 0 });
      // Each event arrived (signed), the four cut off twice; none of them counted as a failed attempt.
      const heldIds = held.map((r) => String(r.headers['webhook-id']));
      expect(new Set(received.map((r) => r.headers['webhook-id'])).size).toBe(12);
      for (const eventId of heldIds) expect(received.filter((r) => r.headers['webhook-id'] === eventId)).toHaveLength(2);
      expect(received.every((r) => verified(r.headers, r.body))).toBe(true);
      for (const eventId of heldIds) {
        expect(service.deliveries(id, { limit: 10, eventId }).map((a) => a.statusCode)).toEqual([204]);
      }
      // Per key, the deliveries that counted came in the order of the log.
      const firstAfterRestart = received.filter((r) => !held.includes(r));
      for (let k = 0; k < 6; k++) {
        const order = firstAfterRestart.map((r) => JSON.parse(r.body) as { subject: string; data: { i: number } }).filter((e) => e.subject === `ord_${k}`).map((e) => e.data.i);
        expect(order).toEqual([...order].sort((a, b) => a - b));
      }
      expect(lines.some((l) => l.includes('the webhook delivery thread failed') && l.includes('inFlight=4'))).toBe(true);
    } finally {
      await service.stop();
      store.close();
    }
  });
});

async function until(ok: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}
