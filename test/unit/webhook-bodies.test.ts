import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { migrateOwnTables } from '../../src/sdk/index.js';
import { WebhookStore } from '../../connectors/sinks/webhook/store.js';
import { WEBHOOK_TABLES } from '../../connectors/sinks/webhook/tables.js';
import { memorySubscriptions } from './webhook-harness.js';

const endpoint = (store: WebhookStore, id: string) =>
  store.insertEndpoint(id, { url: `https://hooks.example/${id}`, streams: ['orders'], types: null, filter: null, description: null, enabled: true }, [{ secret: 's', expiresAt: null }], 'api', 0);
const msg = (n: number, payload = `{"n":${n}}`) => ({ eventId: `e${n}`, stream: 'orders', offset: n, key: `k${n}`, payload });
const bodies = (db: Database.Database) => db.prepare('SELECT event_id AS eventId, payload FROM webhook_bodies ORDER BY event_id').all();
const deliver = (store: WebhookStore, endpointId: string, eventId: string, time: number) => {
  const m = store.due(endpointId, time, 100).find((d) => d.eventId === eventId)!;
  store.settle([{ endpointId, message: m, time, statusCode: 204, latencyMs: 1, error: null, responseBody: '', result: 'delivered', nextAt: null }]);
};

describe('webhook bodies, one per event', () => {
  it('upgrade a v1 outbox: every message keeps its body (the newest of an event sent twice), its state and its place', () => {
    const db = new Database(':memory:');
    const subscriptions = memorySubscriptions(db);
    migrateOwnTables(db, 'webhook', WEBHOOK_TABLES.slice(0, 1));
    const insert = db.prepare(`INSERT INTO webhook_messages(endpoint_id, event_id, stream, offset, key, payload, status, attempts, next_at, created_at, updated_at)
      VALUES (?, ?, 'orders', ?, ?, ?, ?, ?, ?, 100, 100)`);
    db.prepare(`INSERT INTO webhook_endpoints(id, url, streams, secrets, enabled, origin, created_at, updated_at)
      VALUES ('a', 'https://hooks.example/a', '["orders"]', '[]', 1, 'api', 0, 0), ('b', 'https://hooks.example/b', '["orders"]', '[]', 1, 'api', 0, 0)`).run();
    insert.run('a', 'e1', 1, 'k1', '{"n":1}', 1, 1, 100);
    insert.run('a', 'e2', 2, 'k2', '{"n":2}', 0, 0, 100);
    insert.run('b', 'e2', 2, 'k2', '{"n":2}', 2, 3, 100);
    insert.run('b', 'e1', 3, 'k1', '{"n":1,"again":true}', 0, 0, 100);

    const store = new WebhookStore(db, subscriptions);
    expect(bodies(db)).toEqual([{ eventId: 'e1', payload: '{"n":1,"again":true}' }, { eventId: 'e2', payload: '{"n":2}' }]);
    expect(store.due('a', 200, 10)).toEqual([{ id: 2, eventId: 'e2', key: 'k2', payload: '{"n":2}', attempts: 0 }]);
    expect(store.due('b', 200, 10)).toEqual([{ id: 4, eventId: 'e1', key: 'k1', payload: '{"n":1,"again":true}', attempts: 0 }]);
    expect(store.message('b', 'e2')).toMatchObject({ status: 'dead', attempts: 3, payload: '{"n":2}' });
    expect(store.counts('a')).toEqual({ pending: 1, delivered: 1, dead: 0 });
    expect(db.prepare("SELECT value FROM meta WHERE key LIKE '%webhook'").pluck().get()).toBe('2');
  });

  it('keep one body for the endpoints that take an event, and drop it once no message needs it', () => {
    const db = new Database(':memory:');
    const store = new WebhookStore(db, memorySubscriptions(db));
    for (const id of ['a', 'b', 'c']) endpoint(store, id);
    for (const id of ['a', 'b']) store.fanOut(id, new Map(), [msg(1), msg(2)], 100);
    store.fanOut('c', new Map(), [msg(3)], 100);
    expect(bodies(db)).toHaveLength(3);

    // e1 delivered everywhere, e2 delivered to a only, e3 delivered: past the cutoff only e2's body is still needed (by b).
    for (const id of ['a', 'b']) deliver(store, id, 'e1', 150);
    deliver(store, 'a', 'e2', 150);
    deliver(store, 'c', 'e3', 150);
    store.prune(1_000);
    expect(bodies(db)).toEqual([{ eventId: 'e2', payload: '{"n":2}' }]);
    expect(store.due('b', 1_000, 10).map((m) => m.payload)).toEqual(['{"n":2}']);

    // A deleted endpoint takes the bodies only it needed; a body another endpoint needs stays.
    store.fanOut('c', new Map(), [msg(2), msg(4)], 2_000);
    store.deleteEndpoint('c');
    expect(bodies(db)).toEqual([{ eventId: 'e2', payload: '{"n":2}' }]);
    store.deleteEndpoint('b');
    expect(bodies(db)).toEqual([]);
  });

  it('take the newer text of an event sent again after it was delivered', () => {
    const db = new Database(':memory:');
    const store = new WebhookStore(db, memorySubscriptions(db));
    endpoint(store, 'a');
    store.fanOut('a', new Map(), [msg(1)], 100);
    deliver(store, 'a', 'e1', 110);
    expect(store.fanOut('a', new Map(), [msg(1, '{"n":1,"v":2}')], 200)).toBe(1);
    expect(store.due('a', 200, 10).map((m) => m.payload)).toEqual(['{"n":1,"v":2}']);
  });
});
