import { describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/store/sqlite-store.js';

const open = () => new SqliteStore({ path: ':memory:', retentionMs: 0, dedupeWindowMs: 60_000, synchronous: 'normal' });

describe('subscriptions', () => {
  it('move cursors forward only, one or many at a time', () => {
    const { subscriptions: subs } = open();
    subs.commit('sink:a', new Map([['orders', 5]]));
    subs.commit('sink:a', new Map([['orders', 3], ['payments', 2]]));
    expect(subs.cursors('sink:a')).toEqual(new Map([['orders', 5], ['payments', 2]]));
    expect(subs.cursor('sink:a', 'alerts')).toBeNull();
  });

  it('follow a stream from 0 without moving a cursor back', () => {
    const { subscriptions: subs } = open();
    subs.commit('sink:a', new Map([['orders', 5]]));
    subs.follow('sink:a', ['orders', 'payments']);
    expect(subs.cursors('sink:a')).toEqual(new Map([['orders', 5], ['payments', 0]]));
  });

  it('give each stream a retention floor: the lowest cursor of the owners that follow it', () => {
    const { subscriptions: subs } = open();
    subs.commit('sink:a', new Map([['orders', 5], ['payments', 9]]));
    subs.commit('webhook:ep', new Map([['orders', 2]]));
    expect(subs.floor('orders')).toBe(2);
    expect(subs.floor('orders', new Set(['sink:a']))).toBe(5);
    expect(subs.floor('alerts')).toBeNull();
    subs.drop('webhook:ep');
    expect(subs.floor('orders')).toBe(5);
    expect(subs.cursors('webhook:ep').size).toBe(0);
  });
});

describe('the subscriptions migration', () => {
  it('moves dispatcher checkpoints of sinks whose names hold colons to the right owner and stream', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { StoreDatabase } = await import('../../src/store/database.js');
    const { STORE_MIGRATIONS } = await import('../../src/store/migrations/index.js');
    const dir = mkdtempSync(join(tmpdir(), 'reflex-subs-'));
    try {
      const path = join(dir, 'reflex.db');
      const before = new StoreDatabase({ path, synchronous: 'normal', migrations: STORE_MIGRATIONS.filter((m) => m.version < 4) });
      before.db.exec(`INSERT INTO streams(name, kind) VALUES ('orders', 'events'), ('orders.changelog', 'changelog');
        INSERT INTO checkpoints(source, value, updated_at) VALUES ('sink:kafka:eu:orders', '7', 0), ('sink:kafka:eu:orders.changelog', '4', 0), ('source:file:/x', '{}', 0);`);
      before.close();
      const store = new SqliteStore({ path, retentionMs: 0, dedupeWindowMs: 60_000, synchronous: 'normal' });
      expect(store.subscriptions.cursors('sink:kafka:eu')).toEqual(new Map([['orders', 7], ['orders.changelog', 4]]));
      expect(store.getCheckpoint('sink:kafka:eu:orders')).toBeNull();
      expect(store.getCheckpoint('source:file:/x')).toBe('{}');
      store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
