import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Exchange } from '../../src/model/exchange.js';
import { dedupeKeyOf } from '../../src/pipeline/ingest.js';
import { deflateRawSync } from 'node:zlib';
import { CODEC_DEFLATE, CODEC_PLAIN, decodeBlock, encodeBlock } from '../../src/store/record-block.js';
import { STORE_MIGRATIONS } from '../../src/store/migrations/index.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import type { EntryOutcome } from '../../src/store/types.js';

/**
 * The event log stores the records of one stream appended in one transaction as one compressed
 * block (src/store/record-block.ts); what every read returns is what it returned when each record
 * was a row.
 */
const FIXTURES = join(import.meta.dirname, '../fixtures/store');
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tempPath = () => {
  const dir = mkdtempSync(join(tmpdir(), 'reflex-blocks-'));
  dirs.push(dir);
  return join(dir, 'reflex.db');
};
const open = (path: string, now?: () => number) =>
  new SqliteStore({ path, retentionMs: 10_000, dedupeWindowMs: 86_400_000, synchronous: 'normal', ...(now ? { now } : {}) });

/** Values whose JSON needs escaping, keys that are null, empty or not ASCII. */
const valueOf = (n: number) => ({ n, text: n % 7 === 0 ? 'a\nb "c" \\ \u0000 é 😀' : `v${n}` });
const keyOf = (n: number) => (n % 11 === 0 ? null : n % 13 === 0 ? '' : `kéy-${n}`);
const entries = (stream: string, from: number, count: number): EntryOutcome[] =>
  Array.from({ length: count }, (_, i) => ({ requestKey: `${stream}:${from + i}`, records: [{ stream, key: keyOf(from + i), value: valueOf(from + i) }] }));
const blocks = (store: SqliteStore) => store.db.prepare('SELECT COUNT(*) FROM record_blocks').pluck().get() as number;

function readAll(store: SqliteStore, stream: string, page: number) {
  const out = [];
  for (let after = 0; ;) {
    const got = store.read(stream, after, page);
    if (got.length === 0) return out;
    out.push(...got);
    after = got.at(-1)!.offset;
  }
}

describe('the event log in blocks', () => {
  it('reads back every record, in pages that cross blocks, as appended', () => {
    const store = open(tempPath());
    // 2500 records in one transaction (blocks of at most 1000), then 50 in each of three more.
    store.commit({ entries: [...entries('orders', 1, 2500), ...entries('payments', 1, 3)] });
    for (let t = 0; t < 3; t++) store.commit({ entries: entries('orders', 2501 + t * 50, 50) });
    expect(blocks(store)).toBe(3 + 1 + 3);
    const expected = Array.from({ length: 2650 }, (_, i) => ({ stream: 'orders', offset: i + 1, key: keyOf(i + 1), value: valueOf(i + 1) }));
    for (const page of [1, 100, 333, 1000, 5000]) expect(readAll(store, 'orders', page)).toEqual(expected);
    expect(store.log.readJson('orders', 0, 5000).map((r) => [r.offset, r.key, r.json])).toEqual(expected.map((r) => [r.offset, r.key, JSON.stringify(r.value)]));
    expect(store.streams().map((s) => [s.name, s.firstOffset, s.lastOffset, s.count])).toEqual([['orders', 1, 2650, 2650], ['payments', 1, 3, 3]]);
    store.close();
  });

  it('reads from the middle of a block', () => {
    const store = open(tempPath());
    store.commit({ entries: entries('orders', 1, 1500) });
    expect(store.read('orders', 1234, 10).map((r) => r.offset)).toEqual([1235, 1236, 1237, 1238, 1239, 1240, 1241, 1242, 1243, 1244]);
    // Across the end of one block into the next.
    expect(store.read('orders', 995, 10).map((r) => [r.offset, r.key])).toEqual(Array.from({ length: 10 }, (_, i) => [996 + i, keyOf(996 + i)]));
    expect(store.read('orders', 1499, 10).map((r) => r.offset)).toEqual([1500]);
    expect(store.read('orders', 1500, 10)).toEqual([]);
    store.close();
  });

  it('shows a transaction its own records before it commits, and nothing of it after a rollback', () => {
    const store = open(tempPath());
    store.commit({ entries: entries('orders', 1, 5) });
    expect(() => store.transaction(() => {
      store.commit({ entries: entries('orders', 6, 3) });
      expect(store.read('orders', 4, 10).map((r) => r.offset)).toEqual([5, 6, 7, 8]);
      throw new Error('rolled back');
    })).toThrow('rolled back');
    expect(store.read('orders', 0, 10).map((r) => r.offset)).toEqual([1, 2, 3, 4, 5]);
    // The rolled-back block's seq is used again: what is read is the new block, not a cached copy of the old.
    store.commit({ entries: entries('orders', 100, 3) });
    expect(store.read('orders', 5, 10).map((r) => [r.offset, r.value])).toEqual([[6, valueOf(100)], [7, valueOf(101)], [8, valueOf(102)]]);
    store.close();
  });

  it('fails the whole transaction when a savepoint in it failed, even if the caller caught that', () => {
    const store = open(tempPath());
    store.commit({ entries: entries('orders', 1, 2) });
    // The records of the failed savepoint were only buffered: committing the rest would have written them.
    expect(() => store.transaction(() => {
      store.commit({ entries: entries('orders', 3, 2) });
      try {
        store.transaction(() => {
          store.commit({ entries: entries('orders', 5, 2) });
          throw new Error('a rule broke');
        });
      } catch {
        // caught, and the outer transaction goes on
      }
      store.commit({ entries: entries('orders', 7, 1) });
    })).toThrow(/a part of this transaction failed .*a rule broke/);
    expect(store.read('orders', 0, 10).map((r) => r.offset)).toEqual([1, 2]);
    store.commit({ entries: entries('orders', 10, 1) });
    expect(store.read('orders', 0, 10).map((r) => [r.offset, r.value])).toEqual([[1, valueOf(1)], [2, valueOf(2)], [3, valueOf(10)]]);
    store.close();
  });

  it('keeps past retention the records of a block that a sink has not delivered, by record', () => {
    let now = 1_000_000;
    const path = tempPath();
    const store = open(path, () => now);
    store.commit({ entries: [...entries('orders', 1, 2500), ...entries('payments', 1, 10)] });
    now += 5_000;
    store.commit({ entries: entries('orders', 2501, 10) });
    now += 8_000;
    // Only the first transaction is past retention. Orders were delivered up to 1500 (mid-block), payments up to 4.
    expect(store.prune(now, (s) => (s === 'orders' ? 1500 : 4)).records).toBe(1500 + 4);
    expect(readAll(store, 'orders', 300).map((r) => r.offset)).toEqual(Array.from({ length: 1010 }, (_, i) => 1501 + i));
    expect(store.read('payments', 0, 100).map((r) => [r.offset, r.key, r.value])).toEqual([5, 6, 7, 8, 9, 10].map((n) => [n, keyOf(n), valueOf(n)]));
    const summary = () => store.streams().map((s) => [s.name, s.firstOffset, s.lastOffset, s.count]);
    expect(summary()).toEqual([['orders', 1501, 2510, 1010], ['payments', 5, 10, 6]]);
    // Nothing delivered keeps everything; the records past retention are still there after a reopen.
    expect(store.prune(now, () => 0).records).toBe(0);
    store.close();
    const again = open(path, () => now);
    expect(again.streams().map((s) => [s.name, s.firstOffset, s.lastOffset, s.count])).toEqual([['orders', 1501, 2510, 1010], ['payments', 5, 10, 6]]);
    expect(again.read('orders', 1700, 2).map((r) => [r.offset, r.value])).toEqual([[1701, valueOf(1701)], [1702, valueOf(1702)]]);
    // Everything delivered: the old blocks go, the newer transaction stays.
    expect(again.prune(now, () => 10_000).records).toBe(1000 + 6);
    expect(again.streams().map((s) => [s.name, s.firstOffset, s.count])).toEqual([['orders', 2501, 10], ['payments', null, 0]]);
    again.commit({ entries: entries('orders', 9000, 1) });
    expect(again.lastOffset('orders')).toBe(2511);
    again.close();
  });

  it('loses nothing committed and keeps nothing uncommitted when killed between two transactions', () => {
    const path = tempPath();
    const child = spawnSync(process.execPath, ['--import', 'tsx', join(FIXTURES, 'crash-mid-transaction.ts'), path], { encoding: 'utf8', timeout: 60_000 });
    expect(child.signal).toBe('SIGKILL');
    const before = JSON.parse(child.stdout) as { orders: unknown[]; changelog: unknown[]; states: unknown[] };
    expect(before.orders).toHaveLength(1800);
    const store = open(path);
    expect(readAll(store, 'orders', 500)).toEqual(before.orders);
    expect(readAll(store, 'orders.changelog', 7)).toEqual(before.changelog);
    expect(Array.from({ length: 8 }, (_, i) => store.getResource('orders', `k${i}`))).toEqual(before.states);
    expect(store.lastOffset('orders')).toBe(1800);
    store.commit({ entries: entries('orders', 1, 1) });
    expect(store.read('orders', 1800, 10).map((r) => r.offset)).toEqual([1801]);
    store.close();
  });
});

describe('a store written before record blocks (schema version 6)', () => {
  /** Made by test/fixtures/store/make-store-v6.ts with that release; its reads are in store-v6.expected.json. */
  const expected = JSON.parse(readFileSync(join(FIXTURES, 'store-v6.expected.json'), 'utf8')) as {
    streams: unknown; records: Record<string, unknown>; json: Record<string, unknown>; firstOffsetSince: Array<[number, number | null]>;
    states: unknown[]; consumerOffset: number; cursors: Array<[string, number]>;
  };
  const digest = (records: unknown[]) => JSON.parse(JSON.stringify({
    count: records.length,
    sha256: createHash('sha256').update(JSON.stringify(records)).digest('hex'),
    samples: [0, 3, 97, 699, 700, records.length - 1].filter((i) => i < records.length).map((i) => records[i]),
  })) as unknown;

  it('reads every record, offset, state and cursor as that release did, and carries on', () => {
    const path = tempPath();
    copyFileSync(join(FIXTURES, 'store-v6.db'), path);
    const store = open(path);
    expect(store.database.schemaVersion()).toBe(STORE_MIGRATIONS.at(-1)!.version);
    expect(store.streams()).toEqual(expected.streams);
    for (const stream of ['orders', 'orders.changelog', 'payments']) {
      expect(digest(store.read(stream, 0, 100_000))).toEqual(expected.records[stream]);
      expect(digest(readAll(store, stream, 128))).toEqual(expected.records[stream]);
    }
    for (const stream of ['orders', 'orders.changelog']) expect(digest(store.log.readJson(stream, 0, 100_000))).toEqual(expected.json[stream]);
    expect(expected.firstOffsetSince.map(([t]) => [t, store.firstOffsetSince('orders', t)])).toEqual(expected.firstOffsetSince);
    // The last batch's states were never flushed by that release: they come back from the change records.
    expect(Array.from({ length: 12 }, (_, i) => store.getResource('orders', `k${i}`))).toEqual(expected.states);
    expect(store.getConsumerOffset('orders', 'billing')).toBe(expected.consumerOffset);
    expect([...store.subscriptions.cursors('sink:kafka')]).toEqual(expected.cursors);
    // The dedupe window came along.
    expect(store.seen(['kong:r1', 'kong:r2100', 'kong:p2', 'kong:r2101'])).toEqual(new Set(['kong:r1', 'kong:r2100', 'kong:p2']));
    store.commit({ entries: entries('orders', 1, 2) });
    expect(store.read('orders', 2100, 10).map((r) => [r.offset, r.value])).toEqual([[2101, valueOf(1)], [2102, valueOf(2)]]);
    store.close();
    // Opened again (the upgrade ran once): the same.
    const again = open(path);
    expect(digest(again.read('orders.changelog', 0, 100))).toEqual(expected.records['orders.changelog']);
    expect(again.lastOffset('orders')).toBe(2102);
    again.close();
  });
});

describe('the dedupe window', () => {
  const keyAt = (requestTime: number, id: string) => dedupeKeyOf({ request: { time: new Date(requestTime).toISOString() } } as Exchange, `kong:${id}`);

  it('forgets keys seen before the cutoff, whatever their request time, and keeps those seen since', () => {
    let now = 10_000_000;
    const path = tempPath();
    const store = new SqliteStore({ path, retentionMs: 0, dedupeWindowMs: 60_000, synchronous: 'normal', now: () => now });
    const claim = (keys: string[]) => store.commit({ entries: keys.map((requestKey) => ({ requestKey, records: [] })) });
    const old = [keyAt(now - 5_000, 'a'), keyAt(now - 1_000, 'b'), 'kong:no-time', keyAt(now + 90_000, 'gateway-clock-ahead')];
    claim(old);
    now += 50_000;
    // A backfill: requests long before the cutoff, seen now.
    const backfill = [keyAt(now - 3_600_000, 'c'), keyAt(1_000, 'd')];
    const recent = [keyAt(now, 'e'), 'kong:also-no-time'];
    claim([...backfill, ...recent]);
    now += 20_000;
    expect(store.prune(now).dedupeKeys).toBe(3);
    // Re-sent: the backfill and recent keys are still known; the old ones are not, except one whose request time has not come yet.
    expect(claim([...old, ...backfill, ...recent]).duplicates).toBe(5);
    expect(store.seen(old)).toEqual(new Set(old));
    store.close();
  });
});

describe('a block body', () => {
  it('is read back whichever codec wrote it, and a body it cannot read is named', () => {
    const offsets = [7, 8, 10];
    const keys = [null, '', 'kéy'];
    const values = ['{"a":"\\n😀"}', '1', '"x"'];
    const block = { firstOffset: 7, lastOffset: 10, offsets, keys, values };
    const written = encodeBlock(7, offsets, keys, values);
    expect(decodeBlock(7, written.codec, written.body, 'block 1')).toEqual(block);
    // A body that does not shrink is stored as it is.
    expect(encodeBlock(7, [7], ['k'], ['"tiny"']).codec).toBe(CODEC_PLAIN);
    // The first builds of this format deflated the body.
    const plainAll = Buffer.from(decodeToPlain(offsets, keys, values));
    expect(decodeBlock(7, CODEC_DEFLATE, deflateRawSync(plainAll), 'block 2')).toEqual(block);
    expect(() => decodeBlock(7, 9, plainAll, 'store.db: record block 3')).toThrow('store.db: record block 3: unknown codec 9 (written by a newer reflex?)');
    expect(() => decodeBlock(7, CODEC_PLAIN, plainAll.subarray(0, plainAll.length - 2), 'store.db: record block 4')).toThrow('store.db: record block 4: record at offset 10 runs past the body');
  });
});

/** The uncompressed body: what a plain block of these records holds. */
function decodeToPlain(offsets: number[], keys: Array<string | null>, values: string[]): Buffer {
  const parts: Buffer[] = [];
  let previous = offsets[0]! - 1;
  offsets.forEach((o, i) => {
    const key = keys[i] === null ? null : Buffer.from(keys[i]!);
    const value = Buffer.from(values[i]!);
    const head = Buffer.alloc(12);
    head.writeUInt32LE(o - previous, 0);
    head.writeUInt32LE(key === null ? 0 : key.length + 1, 4);
    head.writeUInt32LE(value.length, 8);
    parts.push(head, ...(key ? [key] : []), value);
    previous = o;
  });
  return Buffer.concat(parts);
}
