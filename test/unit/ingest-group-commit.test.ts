import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { kongFormat } from '../../connectors/sources/kong/format.js';
import { Ingestor } from '../../src/pipeline/ingest.js';
import { loadSpecSet } from '../../src/spec/compile.js';
import type { CompiledSpecSet } from '../../src/spec/types.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import { kongLog } from '../support/kong-log.js';

/**
 * Batches that arrive while others are being processed commit together (one transaction, one fsync);
 * each caller must still get its own batch's answer, duplicates must still be dropped across them,
 * and a batch that cannot be written must not cost the others theirs.
 */

let specs: CompiledSpecSet;
const dirs: string[] = [];
beforeAll(async () => {
  specs = await loadSpecSet(['examples/shop/openapi.yaml']);
});
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function openStore(): SqliteStore {
  const dir = mkdtempSync(join(tmpdir(), 'reflex-group-'));
  dirs.push(dir);
  return new SqliteStore({ path: join(dir, 'reflex.db'), retentionMs: 0, dedupeWindowMs: 86_400_000, synchronous: 'full' });
}

let seq = 0;
function createOrder(id?: string) {
  seq++;
  return kongLog({
    id: `req-${seq}`, startedAt: 1_700_000_000_000 + seq, method: 'POST', path: '/v1/orders', status: 201,
    requestBody: { customerId: 'cus_1', items: [{ sku: 'MUG', quantity: 1 }] },
    responseBody: { id: id ?? `ord_${seq}`, customerId: 'cus_1', status: 'pending', total: 12.5, items: [{ sku: 'MUG', quantity: 1 }] },
  });
}

const decode = (entries: unknown[]) => kongFormat.decode(JSON.stringify(entries));

describe('group commit', () => {
  it('answers each of several concurrent batches with its own counts, in one transaction', async () => {
    const store = openStore();
    const ingestor = new Ingestor(store, specs);
    let commits = 0;
    store.database.addHooks({ committed: () => commits++, rolledBack: () => undefined });
    const shared = createOrder();
    const batches = [
      [createOrder(), createOrder(), shared],
      [createOrder()],
      // The same entry as in the first batch: the later batch gets it as a duplicate.
      [shared, createOrder()],
    ];
    const results = await Promise.all(batches.map((b) => ingestor.ingest(decode(b), { source: 'test' })));
    expect(results.map((r) => [r.accepted, r.duplicates, r.records])).toEqual([[3, 0, 3], [1, 0, 1], [1, 1, 1]]);
    // All three were handed in before the first was processed: one transaction.
    expect(commits).toBe(1);
    expect(store.read('orders', 0, 100).map((r) => r.offset)).toEqual([1, 2, 3, 4, 5]);
    store.close();
  });

  it('keeps arrival order: offsets follow the order the batches were handed in', async () => {
    const store = openStore();
    const ingestor = new Ingestor(store, specs);
    const ids = Array.from({ length: 12 }, (_, i) => `ord_order_${i}`);
    await Promise.all(ids.map((id) => ingestor.ingest(decode([createOrder(id)]), { source: 'test' })));
    expect(store.read('orders', 0, 100).map((r) => r.key)).toEqual(ids);
    store.close();
  });

  it('a batch the store refuses fails alone; the batches beside it are stored and answered', async () => {
    const store = openStore();
    const ingestor = new Ingestor(store, specs);
    // A checkpoint SQLite cannot bind fails the write of that batch only.
    const unbindable = { not: 'a string' } as unknown as string;
    const first = ingestor.ingest(decode([createOrder()]), { source: 'test' });
    const good = ingestor.ingest(decode([createOrder()]), { source: 'test' });
    const bad = ingestor.ingest(decode([createOrder()]), { source: 'test', checkpoint: { source: 'c', value: unbindable } });
    const alsoGood = ingestor.ingest(decode([createOrder()]), { source: 'test' });
    await expect(first).resolves.toMatchObject({ accepted: 1 });
    await expect(good).resolves.toMatchObject({ accepted: 1 });
    await expect(bad).rejects.toThrow(/parameter/);
    await expect(alsoGood).resolves.toMatchObject({ accepted: 1 });
    expect(store.read('orders', 0, 100)).toHaveLength(3);
    expect(store.getCheckpoint('c')).toBeNull();
    store.close();
  });
});

describe('acknowledged only once durable (store.sync full)', () => {
  it('answers a batch only after the fsync that covers it; a FULL commit covers earlier deferred ones', async () => {
    const store = openStore();
    const db = store.database;
    db.deferSync(() => db.transaction(() => store.setCheckpoint('a', '1')));
    let synced = false;
    const durable = db.durable().then(() => (synced = true));
    // The fsync runs on libuv's pool: not done within this turn of the event loop (a commit that
    // needed none would resolve on the microtask queue).
    for (let i = 0; i < 5; i++) await Promise.resolve();
    expect(synced).toBe(false);
    await durable;
    expect(synced).toBe(true);
    db.deferSync(() => db.transaction(() => store.setCheckpoint('a', '2')));
    // A transaction outside deferSync commits with synchronous=FULL, which syncs the whole WAL.
    db.transaction(() => store.setCheckpoint('b', '1'));
    let atOnce = false;
    void db.durable().then(() => (atOnce = true));
    await Promise.resolve();
    expect(atOnce).toBe(true);
    store.close();
  });

  it('a batch whose fsync fails is answered with an error naming the store, never as stored', async () => {
    const store = openStore();
    const ingestor = new Ingestor(store, specs);
    // The WAL file gone from the folder: the fsync of what was committed cannot happen.
    rmSync(`${store.database.path}-wal`);
    await expect(ingestor.ingest(decode([createOrder()]), { source: 'test' })).rejects.toThrow(/cannot sync the store .*reflex\.db/);
    store.close();
  });

  it('with store.sync normal, answers without waiting for an fsync', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reflex-group-'));
    dirs.push(dir);
    const store = new SqliteStore({ path: join(dir, 'reflex.db'), retentionMs: 0, dedupeWindowMs: 86_400_000, synchronous: 'normal' });
    rmSync(`${store.database.path}-wal`);
    await expect(new Ingestor(store, specs).ingest(decode([createOrder()]), { source: 'test' })).resolves.toMatchObject({ accepted: 1 });
    store.close();
  });
});

describe('an in-memory store', () => {
  it('answers without a file to sync, whatever store.sync says', async () => {
    const store = new SqliteStore({ path: ':memory:', retentionMs: 0, dedupeWindowMs: 86_400_000, synchronous: 'full' });
    await expect(new Ingestor(store, specs).ingest(decode([createOrder()]), { source: 'test' })).resolves.toMatchObject({ accepted: 1 });
    store.close();
  });
});
