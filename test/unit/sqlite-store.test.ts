import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { StoreError } from '../../src/store/sqlite-open.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import type { EntryOutcome } from '../../src/store/types.js';

const dirs: string[] = [];
function openStore(options: Partial<ConstructorParameters<typeof SqliteStore>[0]> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'reflex-store-'));
  dirs.push(dir);
  const path = join(dir, 'reflex.db');
  const make = (more = {}) => new SqliteStore({ path, retentionMs: 0, dedupeWindowMs: 3_600_000, synchronous: 'normal', ...options, ...more });
  return { store: make(), reopen: make, path };
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const entry = (key: string, stream = 'orders', n = 1): EntryOutcome => ({
  requestKey: key,
  records: Array.from({ length: n }, (_, i) => ({ stream, key: `${key}-${i}`, value: { id: `${key}-${i}` } })),
});

describe('SqliteStore', () => {
  it('assigns offsets per stream, from 1, in commit order', () => {
    const { store } = openStore();
    store.commit({ entries: [entry('a', 'orders', 2), entry('b', 'payments')] });
    store.commit({ entries: [entry('c', 'orders')] });
    expect(store.read('orders', 0, 10).map((r) => [r.offset, r.key])).toEqual([[1, 'a-0'], [2, 'a-1'], [3, 'c-0']]);
    expect(store.read('payments', 0, 10).map((r) => r.offset)).toEqual([1]);
    expect(store.read('orders', 1, 1).map((r) => r.offset)).toEqual([2]);
    store.close();
  });

  it('drops an entry whose request key was already committed, across and within batches', () => {
    const { store } = openStore();
    const first = store.commit({ entries: [entry('a'), entry('b')] });
    const again = store.commit({ entries: [entry('b'), entry('c'), entry('c')] });
    expect(first).toMatchObject({ accepted: 2, duplicates: 0, records: 2 });
    expect(again).toMatchObject({ accepted: 1, duplicates: 2, records: 1 });
    expect(store.seen(['a', 'b', 'zzz'])).toEqual(new Set(['a', 'b']));
    expect(store.read('orders', 0, 10).map((r) => r.key)).toEqual(['a-0', 'b-0', 'c-0']);
    store.close();
  });

  it('keeps dead letters with the reason and the original record, and counts unmatched per route', () => {
    const { store } = openStore();
    store.commit({
      entries: [
        { requestKey: 'x', records: [], deadLetter: { source: 'http:/ingest/kong', requestKey: 'x', diagnostic: { code: 'RX401', severity: 'error', message: 'boom' }, record: { raw: true } } },
        { requestKey: 'y', records: [], unmatched: { label: 'kong/shop', method: 'GET', path: '/a' } },
        { requestKey: 'z', records: [], unmatched: { label: 'kong/shop', method: 'GET', path: '/b' } },
      ],
    });
    const [dl] = store.deadLetters(0, 10);
    expect(dl).toMatchObject({ id: 1, source: 'http:/ingest/kong', requestKey: 'x', diagnostic: { code: 'RX401', message: 'boom' }, record: { raw: true } });
    expect(store.unmatched()).toMatchObject([{ label: 'kong/shop', count: 2, lastMethod: 'GET', lastPath: '/b' }]);
    store.close();
  });

  it('rolls the whole batch back when one record cannot be written: no records, no dedupe keys, offsets unchanged', () => {
    const { store } = openStore();
    store.commit({ entries: [entry('a')] });
    const poison: EntryOutcome = { requestKey: 'p', records: [{ stream: 'orders', key: 'p', value: { n: 1n } }] };
    expect(() => store.commit({ entries: [entry('b'), poison], checkpoint: { source: 's', value: '99' } })).toThrow();
    expect(store.read('orders', 0, 10).map((r) => r.key)).toEqual(['a-0']);
    expect(store.seen(['b'])).toEqual(new Set());
    expect(store.getCheckpoint('s')).toBeNull();
    store.commit({ entries: [entry('b')] });
    expect(store.lastOffset('orders')).toBe(2);
    store.close();
  });

  it('survives a reopen: records, offsets, checkpoints, consumer offsets', () => {
    const { store, reopen } = openStore();
    store.ensureStreams([{ name: 'orders.changelog', kind: 'changelog' }]);
    store.commit({ entries: [entry('a', 'orders', 3)], checkpoint: { source: 'file:x', value: '1234' } });
    store.setConsumerOffset('orders', 'billing', 2);
    store.close();
    const again = reopen();
    expect(again.lastOffset('orders')).toBe(3);
    expect(again.getCheckpoint('file:x')).toBe('1234');
    expect(again.getConsumerOffset('orders', 'billing')).toBe(2);
    expect(again.streams().map((s) => [s.name, s.kind, s.count])).toEqual([['orders', 'events', 3], ['orders.changelog', 'changelog', 0]]);
    again.commit({ entries: [entry('b')] });
    expect(again.read('orders', 3, 10).map((r) => r.offset)).toEqual([4]);
    again.close();
  });

  it('prunes records past retention and dedupe keys past the window, by append time', () => {
    let now = 1_000_000;
    const { store } = openStore({ retentionMs: 10_000, dedupeWindowMs: 5_000, now: () => now });
    store.commit({ entries: [entry('old', 'orders', 2)] });
    now += 8_000;
    store.commit({ entries: [entry('new')] });
    now += 4_000;
    expect(store.prune(now)).toEqual({ records: 2, dedupeKeys: 1 });
    expect(store.read('orders', 0, 10).map((r) => r.key)).toEqual(['new-0']);
    expect(store.seen(['old', 'new'])).toEqual(new Set(['new']));
    // Offsets keep counting after pruning.
    store.commit({ entries: [entry('later')] });
    expect(store.lastOffset('orders')).toBe(4);
    store.close();
  });

  it('tells listeners the last offset per stream after each commit', () => {
    const { store } = openStore();
    const seen: Array<[string, number][]> = [];
    store.onAppend((m) => seen.push([...m]));
    store.commit({ entries: [entry('a', 'orders', 2), entry('b', 'alerts')] });
    store.commit({ entries: [{ requestKey: 'c', records: [] }] });
    expect(seen).toEqual([[['orders', 2], ['alerts', 1]]]);
    store.close();
  });
});

describe('SqliteStore CDC', () => {
  const intent = (key: string, timeMs: number, requestId: string, after: unknown) => ({
    resource: 'orders', key, op: 'u' as const, timeMs, requestId, after,
    source: { gateway: 'kong', operationId: 'op', requestId, method: 'PUT', path: `/orders/${key}` },
  });

  it('keeps intents pending until the cutoff, then applies them in request-time order with state and records in one transaction', async () => {
    const { applyPending } = await import('../../src/cdc/apply.js');
    let now = 10_000;
    const { store } = openStore({ now: () => now });
    store.commit({ entries: [{ requestKey: 'b', records: [], cdc: intent('k', 2000, 'b', { v: 2 }) }] });
    now = 11_000;
    store.commit({ entries: [{ requestKey: 'a', records: [], cdc: intent('k', 1000, 'a', { v: 1 }) }] });
    expect(store.pendingCdc()).toBe(2);
    expect(applyPending(store, 9_999).applied).toBe(0);
    const result = applyPending(store, 11_000, { collect: true });
    expect(result).toMatchObject({ applied: 2, records: 2, late: 0 });
    expect(result.committed!.map((r) => [r.stream, r.offset, (r.value as any).op, (r.value as any).after])).toEqual([
      ['orders.changelog', 1, 'u', { v: 1 }],
      ['orders.changelog', 2, 'u', { v: 2 }],
    ]);
    expect(store.getResource('orders', 'k')).toMatchObject({ state: { v: 2 }, version: 2, timeMs: 2000, requestId: 'b', deleted: false });
    expect(store.pendingCdc()).toBe(0);
    store.close();
  });

  it('rolls back state and change records together when a decision throws', async () => {
    const { decide } = await import('../../src/cdc/decide.js');
    const { applyPending } = await import('../../src/cdc/apply.js');
    const { store } = openStore();
    store.commit({ entries: [{ requestKey: 'a', records: [], cdc: intent('k', 1000, 'a', { v: 1 }) }, { requestKey: 'b', records: [], cdc: intent('j', 2000, 'b', { v: 1 }) }] });
    let calls = 0;
    expect(() => applyPending(store, Number.MAX_SAFE_INTEGER, {}, (i, c) => {
      if (++calls === 2) throw new Error('disk on fire');
      return decide(i, c);
    })).toThrow('disk on fire');
    expect(store.getResource('orders', 'k')).toBeNull();
    expect(store.read('orders.changelog', 0, 10)).toEqual([]);
    expect(store.pendingCdc()).toBe(2);
    expect(applyPending(store, Number.MAX_SAFE_INTEGER).records).toBe(2);
    expect(store.lastOffset('orders.changelog')).toBe(2);
    store.close();
  });
});

describe('SqliteStore retention and sinks', () => {
  it('keeps records past retention that a sink has not delivered yet', () => {
    let now = 1_000_000;
    const { store } = openStore({ retentionMs: 10_000, dedupeWindowMs: 5_000, now: () => now });
    store.commit({ entries: [entry('a', 'orders', 3), entry('p', 'payments', 2)] });
    now += 20_000;
    // A sink delivered orders up to offset 1 and every payment.
    const pruned = store.prune(now, (stream) => (stream === 'orders' ? 1 : 2));
    expect(pruned.records).toBe(3);
    expect(store.read('orders', 0, 10).map((r) => r.offset)).toEqual([2, 3]);
    expect(store.read('payments', 0, 10)).toEqual([]);
    store.close();
  });
});

describe('SqliteStore refuses what it cannot write, naming the file and the reason', () => {
  const tempDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'reflex-store-'));
    dirs.push(dir);
    return dir;
  };
  const open = (path: string) => new SqliteStore({ path, retentionMs: 0, dedupeWindowMs: 3_600_000, synchronous: 'normal' });
  const refusal = (path: string) => {
    try {
      open(path).close();
    } catch (err) {
      return err as StoreError;
    }
    throw new Error(`opening ${path} should have failed`);
  };

  it('a database path that is a folder, or under a file', () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'reflex.db'));
    const folder = refusal(join(dir, 'reflex.db'));
    expect(folder).toBeInstanceOf(StoreError);
    expect(folder.message).toBe(`cannot open the store ${join(dir, 'reflex.db')}: it is not a regular file (EISDIR: not a regular file)`);
    writeFileSync(join(dir, 'file'), '');
    const under = refusal(join(dir, 'file', 'reflex.db'));
    expect(under.message).toMatch(new RegExp(`^cannot open the store ${join(dir, 'file', 'reflex.db')}: its folder ${join(dir, 'file')} cannot be created \\((EEXIST|ENOTDIR): `));
  });

  it('a file that is not a database', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'reflex.db'), 'this is not SQLite, but long enough to have a header that SQLite reads and rejects '.repeat(10));
    const err = refusal(join(dir, 'reflex.db'));
    expect(err.message).toBe(`cannot write the store ${join(dir, 'reflex.db')}: file is not a database (SQLITE_NOTADB)`);
  });

  it('an error at run time names the file and SQLite\'s code (here: the database is full)', () => {
    const { store, path } = openStore();
    store.commit({ entries: [entry('a')] });
    // A page limit makes SQLite answer exactly as on a full disk.
    store.db.pragma(`max_page_count = ${store.db.pragma('page_count', { simple: true }) as number}`);
    let caught: unknown;
    try {
      store.commit({ entries: [entry('b', 'orders', 2000)] });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(StoreError);
    expect((caught as StoreError).message).toMatch(new RegExp(`^store error ${path}: database or disk is full \\(SQLITE_FULL\\)`));
    expect((caught as StoreError).code).toBe('SQLITE_FULL');
    // The failed batch left nothing behind and the store goes on once there is room.
    store.db.pragma('max_page_count = 1073741823');
    expect(store.commit({ entries: [entry('c')] })).toMatchObject({ accepted: 1 });
    expect(store.read('orders', 0, 10).map((r) => r.key)).toEqual(['a-0', 'c-0']);
    store.close();
  });
});
