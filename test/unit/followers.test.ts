import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WebhookService } from '../../connectors/sinks/webhook/service.js';
import { DEFAULT_WEBHOOK_SETTINGS } from '../../src/config/webhook-settings.js';
import { silentLogger } from '../../src/logger.js';
import { BackpressureError } from '../../src/sources/types.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import { Followers, type Follower } from '../../src/subscriptions/followers.js';
import { memorySubscriptions } from './webhook-harness.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function follower(owner: string, streams: string[], backlog: number, maxBacklog = 10): Follower {
  return { owner, label: `sink '${owner}'`, streams: () => streams, maxBacklog, backlog: () => backlog };
}

describe('followers of the log', () => {
  it('refuse ingest past any one maxBacklog, naming who is behind; Infinity never refuses', () => {
    const followers = new Followers(memorySubscriptions(new Database(':memory:')));
    followers.register(follower('a', ['orders'], 5));
    const unregister = followers.register(follower('b', ['orders'], 11));
    followers.register(follower('c', ['orders'], 1e9, Number.POSITIVE_INFINITY));
    expect(() => followers.checkBacklog()).toThrow(new BackpressureError("sink 'b' is 11 records behind (maxBacklog 10); try again later", 5));
    unregister();
    expect(() => followers.checkBacklog()).not.toThrow();
  });

  it('hold retention at the lowest cursor of a stream among its followers, 0 for one that took nothing yet', () => {
    const subscriptions = memorySubscriptions(new Database(':memory:'));
    const followers = new Followers(subscriptions);
    subscriptions.commit('a', new Map([['orders', 7], ['payments', 3]]));
    subscriptions.commit('b', new Map([['orders', 4]]));
    // A subscription nobody registered this run (a sink removed from reflex.yaml) holds nothing back.
    subscriptions.commit('gone', new Map([['orders', 1]]));
    followers.register(follower('a', ['orders', 'payments'], 0));
    followers.register(follower('b', ['orders'], 0));
    expect(followers.floor('orders')).toBe(4);
    expect(followers.floor('payments')).toBe(3);
    expect(followers.floor('refunds')).toBe(Number.POSITIVE_INFINITY);
    followers.register(follower('new', ['payments'], 0));
    expect(followers.floor('payments')).toBe(0);
  });

  it('include every webhook endpoint; only endpoints of reflex.yaml refuse ingest past their maxBacklog', () => {
    const dir = mkdtempSync(join(tmpdir(), 'reflex-followers-'));
    dirs.push(dir);
    const store = new SqliteStore({ path: join(dir, 'reflex.db'), retentionMs: 0, dedupeWindowMs: 60_000, synchronous: 'normal' });
    store.ensureStreams([{ name: 'orders', kind: 'events' }]);
    const append = (n: number) => store.commit({ entries: Array.from({ length: n }, () => ({ requestKey: `k${Math.random()}`, records: [{ stream: 'orders', key: null, value: {} }] })) });
    append(2);
    const followers = new Followers(store.subscriptions);
    const service = new WebhookService({ log: store, subscriptions: store.subscriptions, database: store.db, followers }, { ...DEFAULT_WEBHOOK_SETTINGS, allowPrivateAddresses: true }, silentLogger);
    // Not started: nothing is fanned out, so both endpoints fall behind.
    const api = service.create({ url: 'http://127.0.0.1:9/api', streams: ['orders'] });
    service.declare('billing', { url: 'http://127.0.0.1:9/billing', streams: ['*'], secret: 'whsec_' + Buffer.from('x'.repeat(24)).toString('base64') }, 2);
    expect(followers.floor('orders')).toBe(2);
    append(3);
    expect(() => followers.checkBacklog()).toThrow("webhook 'billing' is 3 records behind (maxBacklog 2); try again later");
    service.delete(api.id);
    expect(store.subscriptions.cursors(`webhook:${api.id}`).size).toBe(0);
    store.close();
  });
});
