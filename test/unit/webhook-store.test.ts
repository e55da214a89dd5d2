import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { WebhookStore, type DueMessage } from '../../connectors/sinks/webhook/store.js';
import { memorySubscriptions } from './webhook-harness.js';

function setup() {
  const db = new Database(':memory:');
  const store = new WebhookStore(db, memorySubscriptions(db));
  store.insertEndpoint('ep', { url: 'https://hooks.example/x', streams: ['orders'], types: null, filter: null, description: null, enabled: true }, [{ secret: 's', expiresAt: null }], 'api', 0);
  return store;
}
const msg = (n: number, key: string | null = `k${n}`) => ({ eventId: `e${n}`, stream: 'orders', offset: n, key, payload: `{"n":${n}}` });
const settle = (store: WebhookStore, m: DueMessage, time: number, result: 'delivered' | 'dead' | 'retry') =>
  store.settle([{ endpointId: 'ep', message: m, time, statusCode: result === 'delivered' ? 200 : 500, latencyMs: 1, error: null, responseBody: null, result, nextAt: result === 'retry' ? time + 1000 : null }]);

describe('webhook store', () => {
  it('holds a message behind a pending one of its key until that one is settled', () => {
    const store = setup();
    store.fanOut('ep', new Map([['orders', 3]]), [msg(1, 'a'), msg(2, 'a'), msg(3, 'b')], 100);
    expect(store.due('ep', 100, 10).map((m) => m.eventId)).toEqual(['e1', 'e3']);
    settle(store, store.due('ep', 100, 1)[0]!, 110, 'retry');
    expect(store.due('ep', 110, 10).map((m) => m.eventId)).toEqual(['e3']);
    const retried = store.due('ep', 2000, 10);
    expect(retried.map((m) => m.eventId)).toEqual(['e3', 'e1']);
    settle(store, retried[1]!, 2000, 'dead');
    expect(store.due('ep', 2000, 10).map((m) => m.eventId)).toEqual(['e3', 'e2']);
    expect(store.cursor('ep', 'orders')).toBe(3);
  });

  it('prunes delivered messages and attempts older than the cutoff, never pending or dead ones', () => {
    const store = setup();
    store.fanOut('ep', new Map(), [msg(1), msg(2), msg(3)], 100);
    const [m1, m2] = store.due('ep', 100, 2);
    settle(store, m1!, 150, 'delivered');
    settle(store, m2!, 150, 'dead');
    store.fanOut('ep', new Map(), [msg(4)], 5_000);
    settle(store, store.due('ep', 5_000, 10).find((m) => m.eventId === 'e4')!, 5_100, 'delivered');
    expect(store.prune(1_000)).toBe(1 + 2);
    expect(store.counts('ep')).toEqual({ pending: 1, delivered: 1, dead: 1 });
    expect(store.attempts('ep', { limit: 10 }).map((a) => a.eventId)).toEqual(['e4']);
    expect(store.message('ep', 'e2')?.status).toBe('dead');
  });
});
