import Database from 'better-sqlite3';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { applyPending } from '../../src/cdc/apply.js';
import { Dispatcher } from '../../src/dispatch/dispatcher.js';
import { silentLogger } from '../../src/logger.js';
import type { StreamRecord } from '../../src/model/records.js';
import { STORE_MIGRATIONS } from '../../src/store/migrations/index.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import { WebhookService } from '../../connectors/sinks/webhook/service.js';
import { WebhookStore } from '../../connectors/sinks/webhook/store.js';
import { DEFAULT_WEBHOOK_SETTINGS } from '../../src/config/webhook-settings.js';

/** Made by test/fixtures/store/make-store-v1.ts with the release before versioned migrations. */
const FIXTURE = join(import.meta.dirname, '../fixtures/store/store-v1.db');
const NEWEST = STORE_MIGRATIONS.at(-1)!.version;

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function copyOfFixture(): string {
  const dir = mkdtempSync(join(tmpdir(), 'reflex-upgrade-'));
  dirs.push(dir);
  const path = join(dir, 'reflex.db');
  copyFileSync(FIXTURE, path);
  return path;
}

const open = (path: string) => new SqliteStore({ path, retentionMs: 0, dedupeWindowMs: 86_400_000 * 365 * 100, synchronous: 'normal' });

/** Every table's definition and rows, to tell whether an open changed anything. */
function dump(path: string): unknown {
  const db = new Database(path, { readonly: true });
  try {
    const tables = db.prepare("SELECT name, sql FROM sqlite_master WHERE type IN ('table', 'index') ORDER BY name").all() as Array<{ name: string; sql: string | null }>;
    return tables.map((t) => ({ ...t, rows: t.sql?.startsWith('CREATE TABLE') ? db.prepare(`SELECT * FROM "${t.name}"`).all() : null }));
  } finally {
    db.close();
  }
}

describe('a store written by the previous release', () => {
  it('upgrades to the newest schema with every record, cursor and state where it was', () => {
    const store = open(copyOfFixture());
    expect(store.database.schemaVersion()).toBe(NEWEST);

    expect(store.streams().map((s) => [s.name, s.kind, s.lastOffset, s.count])).toEqual([
      ['orders', 'events', 3, 3], ['orders.changelog', 'changelog', 1, 1], ['payments', 'events', 1, 1],
    ]);
    expect(store.read('orders', 0, 10).map((r) => [r.offset, r.key, r.value])).toEqual([
      [1, 'o1', { id: 'o1', n: 1 }], [2, 'o2', { id: 'o2', n: 2 }], [3, 'o1', { id: 'o1', n: 3 }],
    ]);
    expect(store.seen(['kong:r1', 'kong:r5', 'kong:new'])).toEqual(new Set(['kong:r1', 'kong:r5']));
    expect(store.deadLetters(0, 10)).toMatchObject([{ id: 1, source: 'kong', requestKey: 'kong:r4', diagnostic: { code: 'RX301' }, record: { request: { uri: '/orders' } } }]);
    expect(store.unmatched()).toMatchObject([{ label: 'GET /nowhere', count: 1, hint: 'no path template matches' }]);
    expect(store.getCheckpoint('source:file:/var/log/kong.log')).toBe('{"ino":42,"pos":1234}');
    expect(store.getConsumerOffset('orders', 'billing')).toBe(1);

    // Dispatcher checkpoints and webhook cursors moved into subscriptions.
    expect(store.subscriptions.cursors('sink:kafka')).toEqual(new Map([['orders', 2], ['payments', 1]]));
    expect(store.getCheckpoint('sink:kafka:orders')).toBeNull();
    expect(store.subscriptions.cursors('webhook:ep_1')).toEqual(new Map([['orders', 2]]));
    expect(store.db.prepare("SELECT name FROM sqlite_master WHERE name = 'webhook_cursors'").get()).toBeUndefined();
    const webhooks = new WebhookStore(store.db, store.subscriptions);
    expect(webhooks.endpoint('ep_1')).toMatchObject({ url: 'https://hooks.example/orders', secrets: [{ secret: 'whsec_fixture' }] });
    expect(webhooks.cursor('ep_1', 'orders')).toBe(2);
    expect(webhooks.counts('ep_1')).toEqual({ pending: 2, delivered: 0, dead: 0 });

    expect(store.getResource('orders', 'o1')).toMatchObject({ state: { id: 'o1', status: 'new' }, version: 1, requestId: 'r1' });
    expect(store.pendingCdc()).toBe(1);
    // The pending change applies on top, and offsets carry on.
    expect(applyPending(store, Number.MAX_SAFE_INTEGER)).toMatchObject({ applied: 1, records: 1 });
    expect(store.getResource('orders', 'o1')).toMatchObject({ state: { id: 'o1', status: 'paid' }, version: 2 });
    expect(store.lastOffset('orders.changelog')).toBe(2);
    store.commit({ entries: [{ requestKey: 'kong:r6', records: [{ stream: 'orders', key: 'o3', value: {} }] }] });
    expect(store.lastOffset('orders')).toBe(4);
    store.close();
  });

  it('resumes its sink where the previous release left it', async () => {
    const store = open(copyOfFixture());
    const got: StreamRecord[] = [];
    const d = new Dispatcher(store, { async deliver(r) { got.push(...r); }, async close() {} }, silentLogger, { name: 'kafka', streams: ['orders', 'payments'] });
    d.start();
    for (let i = 0; i < 200 && got.length < 1; i++) await new Promise((r) => setTimeout(r, 10));
    await d.stop();
    expect(got.map((r) => [r.stream, r.offset])).toEqual([['orders', 3]]);
    expect(store.subscriptions.cursors('sink:kafka')).toEqual(new Map([['orders', 3], ['payments', 1]]));
    store.close();
  });

  it('resumes its webhook endpoint where the previous release left it', async () => {
    const store = open(copyOfFixture());
    const reads: Array<[string, number]> = [];
    // The fixture's records are bare objects; as CloudEvents they can be sent.
    const log = Object.assign(Object.create(store) as SqliteStore, {
      read(stream: string, after: number, limit: number): StreamRecord[] {
        reads.push([stream, after]);
        return store.read(stream, after, limit).map((r) => ({ ...r, value: { specversion: '1.0', id: `ev-${r.offset}`, source: 'test', type: 'order.updated', subject: r.key, data: r.value } }));
      },
    });
    const sent: string[] = [];
    const service = new WebhookService({ log, subscriptions: store.subscriptions, database: store.db }, DEFAULT_WEBHOOK_SETTINGS, silentLogger, {
      connect: () => ({
        post: async (_url, headers) => {
          sent.push(headers['webhook-id']!);
          return { kind: 'delivered', status: 204, latencyMs: 1, responseBody: '' };
        },
        close: async () => {},
      }),
    });
    service.start();
    for (let i = 0; i < 200 && sent.length < 3; i++) await new Promise((r) => setTimeout(r, 10));
    await service.stop();
    // The two events queued before the upgrade, then only the record it had not fanned out yet.
    expect(reads[0]).toEqual(['orders', 2]);
    expect(sent.sort()).toEqual(['ev-1', 'ev-2', 'ev-3']);
    expect(store.subscriptions.cursors('webhook:ep_1')).toEqual(new Map([['orders', 3]]));
    store.close();
  });

  it('is left as it is by a second open', () => {
    const path = copyOfFixture();
    open(path).close();
    const once = dump(path);
    open(path).close();
    expect(dump(path)).toEqual(once);
  });

  it('gains the unmatched hint column when it was written before that column existed', () => {
    const path = copyOfFixture();
    const db = new Database(path);
    db.exec('ALTER TABLE unmatched DROP COLUMN last_hint');
    db.close();
    const store = open(path);
    expect(store.unmatched()).toMatchObject([{ label: 'GET /nowhere', count: 1, hint: null }]);
    store.commit({ entries: [{ requestKey: 'x', records: [], unmatched: { label: 'GET /nowhere', method: 'GET', path: '/nowhere', hint: 'tried /orders' } }] });
    expect(store.unmatched()).toMatchObject([{ count: 2, hint: 'tried /orders' }]);
    store.close();
  });

  it('is refused, unchanged, when a newer reflex wrote it', () => {
    const path = copyOfFixture();
    const db = new Database(path);
    db.prepare("UPDATE meta SET value = ? WHERE key = 'schema_version'").run(String(NEWEST + 1));
    db.close();
    expect(() => open(path)).toThrow(`store schema version ${NEWEST + 1} is newer than this reflex understands (${NEWEST}); upgrade reflex`);
  });
});

describe('migrations', () => {
  it('are numbered 1, 2, 3 ... in order', () => {
    expect(STORE_MIGRATIONS.map((m) => m.version)).toEqual(STORE_MIGRATIONS.map((_, i) => i + 1));
  });

  it('give a new store the same schema as an upgraded one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'reflex-fresh-'));
    dirs.push(dir);
    open(join(dir, 'fresh.db')).close();
    const upgraded = copyOfFixture();
    open(upgraded).close();
    // Columns and indexes, not DDL text: stores of the previous release declare last_hint in CREATE TABLE, new ones add it by ALTER TABLE.
    const schema = (path: string) => {
      const db = new Database(path, { readonly: true });
      try {
        const objects = db.prepare("SELECT type, name, sql FROM sqlite_master ORDER BY name").all() as Array<{ type: string; name: string; sql: string | null }>;
        return objects.map((o) => (o.type === 'table' ? { name: o.name, columns: db.pragma(`table_info("${o.name}")`) } : o));
      } finally {
        db.close();
      }
    };
    expect(schema(upgraded)).toEqual(schema(join(dir, 'fresh.db')));
  });
});
