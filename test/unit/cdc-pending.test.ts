import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { applyOrder, PendingQueue, type PendingBatch, type PendingEntry } from '../../src/cdc/pending-queue.js';
import type { CdcIntent } from '../../src/cdc/types.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';

/**
 * Pending intents live in memory with a journal of one row per batch. A second store opened on the
 * file of one that was never closed is what a restart after kill -9 sees: exactly the intents no
 * committed transaction took, in the same order.
 */
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tempPath = () => {
  const dir = mkdtempSync(join(tmpdir(), 'reflex-cdc-pending-'));
  dirs.push(dir);
  return join(dir, 'reflex.db');
};
const open = (path: string, now = () => 1_000) => new SqliteStore({ path, retentionMs: 0, dedupeWindowMs: 86_400_000, synchronous: 'normal', now });
const intent = (n: number, timeMs: number, resource = 'orders'): CdcIntent => ({
  resource, key: `k${n % 3}`, op: 'u', timeMs, requestId: `r${String(n).padStart(4, '0')}`, after: { n },
  source: { gateway: 'kong', operationId: 'o', requestId: `r${n}`, method: 'PUT', path: '/' },
});
const ids = (intents: CdcIntent[]) => intents.map((i) => i.requestId);

describe('pending CDC intents journaled per batch', () => {
  it('a reopened store has exactly the intents not taken by a committed transaction, in apply order', () => {
    fc.assert(fc.property(
      fc.array(fc.array(fc.integer({ min: 0, max: 50 }), { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 6 }),
      fc.array(fc.integer({ min: 1, max: 7 }), { maxLength: 6 }),
      (batches, takes) => {
        const path = tempPath();
        const store = open(path);
        let n = 0;
        for (const times of batches) store.commit({ entries: times.map((t) => ({ requestKey: `q${n}`, records: [], cdc: intent(n++, t) })) });
        const all = Array.from({ length: n }, (_, i) => i);
        const order = all.sort((a, b) => {
          const [x, y] = [intent(a, batches.flat()[a]!), intent(b, batches.flat()[b]!)];
          return x.timeMs - y.timeMs || (x.requestId < y.requestId ? -1 : 1);
        }).map((i) => `r${String(i).padStart(4, '0')}`);
        let taken = 0;
        for (const limit of takes) taken += store.transaction(() => store.cdc.takeDueInOrder(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, limit)).length;
        expect(store.pendingCdc()).toBe(n - taken);
        // No close: the next store sees what a kill -9 leaves.
        const reopened = open(path);
        expect(reopened.pendingCdc()).toBe(n - taken);
        expect(reopened.resources(['orders'])[0]!.pending).toBe(n - taken);
        expect(ids(reopened.cdc.takeDueInOrder(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, 1000))).toEqual(order.slice(taken));
        reopened.close();
        store.close();
      },
    ), { numRuns: 40 });
  });

  it('a transaction that rolls back leaves what it queued and took as it was, in memory and in the journal', () => {
    const path = tempPath();
    const store = open(path);
    store.commit({ entries: [1, 2, 3].map((n) => ({ requestKey: `q${n}`, records: [], cdc: intent(n, n * 10) })) });
    expect(() => store.transaction(() => {
      store.commit({ entries: [{ requestKey: 'q4', records: [], cdc: intent(4, 5) }] });
      expect(ids(store.cdc.takeDueInOrder(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, 2))).toEqual(['r0004', 'r0001']);
      throw new Error('boom');
    })).toThrow('boom');
    expect(store.pendingCdc()).toBe(3);
    expect(store.resources(['orders'])[0]!.pending).toBe(3);
    const reopened = open(path);
    expect(reopened.pendingCdc()).toBe(3);
    reopened.close();
    expect(ids(store.cdc.takeDueInOrder(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, 10))).toEqual(['r0001', 'r0002', 'r0003']);
    store.close();
  });

  it('intents queued and taken in one transaction never reach the journal; held ones are taken by arrival time', () => {
    const path = tempPath();
    let now = 1_000;
    const store = open(path, () => now);
    store.transaction(() => {
      store.commit({ entries: [1, 2].map((n) => ({ requestKey: `q${n}`, records: [], cdc: intent(n, 100 - n) })) });
      expect(ids(store.cdc.takeDueInOrder(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, 10))).toEqual(['r0002', 'r0001']);
    });
    expect(store.db.prepare('SELECT COUNT(*) FROM cdc_pending_batches').pluck().get()).toBe(0);
    store.commit({ entries: [{ requestKey: 'q3', records: [], cdc: intent(3, 50) }] });
    now = 2_000;
    store.commit({ entries: [{ requestKey: 'q4', records: [], cdc: intent(4, 10) }] });
    // Received by 1000: only r3, though r4 is older by request time.
    expect(ids(store.transaction(() => store.cdc.takeDue(1_000, 10)))).toEqual(['r0003']);
    const reopened = open(path);
    expect(ids(reopened.cdc.takeDue(5_000, 10))).toEqual(['r0004']);
    reopened.close();
    store.close();
  });
});

describe('PendingQueue', () => {
  const batch = (seq: number, receivedAt: number): PendingBatch => ({ seq, receivedAt, entries: [], live: 0 });
  const entry = (seq: number, timeMs: number, receivedAt: number, b: PendingBatch): PendingEntry => {
    const e: PendingEntry = { seq, timeMs, requestId: `r${seq % 4}`, receivedAt, resource: 'orders', batch: b, index: b.entries.length, start: 0, end: 0, json: '{}', taken: false };
    b.entries.push(e);
    b.live++;
    return e;
  };

  it('takes in apply order what a sorted list would, and by arrival what a filtered one would', () => {
    fc.assert(fc.property(
      fc.array(fc.record({ timeMs: fc.integer({ min: 0, max: 20 }), receivedAt: fc.integer({ min: 0, max: 20 }) }), { maxLength: 60 }),
      fc.array(fc.record({ byArrival: fc.boolean(), cutoff: fc.integer({ min: 0, max: 22 }), limit: fc.integer({ min: 1, max: 9 }) }), { maxLength: 12 }),
      (items, takes) => {
        const q = new PendingQueue();
        const b = batch(1, 0);
        let model = items.map((it, i) => entry(i, it.timeMs, it.receivedAt, b));
        for (const e of model) q.add(e);
        for (const t of takes) {
          const sorted = [...model].sort(applyOrder);
          let expected: PendingEntry[];
          if (t.byArrival) {
            expected = sorted.filter((e) => e.receivedAt <= t.cutoff).slice(0, t.limit);
            expect(q.takeReceivedBy(t.cutoff, t.limit)).toEqual(expected);
          } else {
            const firstNotDue = sorted.findIndex((e) => e.timeMs > t.cutoff);
            expected = sorted.slice(0, Math.min(t.limit, firstNotDue === -1 ? sorted.length : firstNotDue));
            expect(q.takeInOrder((e) => e.timeMs <= t.cutoff, t.limit)).toEqual(expected);
          }
          model = model.filter((e) => !expected.includes(e));
          expect(q.size).toBe(model.length);
          expect(b.live).toBe(model.length);
        }
      },
    ), { numRuns: 200 });
  });
});
