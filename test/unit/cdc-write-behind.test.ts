import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { applyPending, commitApplying } from '../../src/cdc/apply.js';
import type { CdcIntent } from '../../src/cdc/types.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';

/**
 * CDC states are held in memory and written to their table in bulk; the change records (and a
 * clock journal) are what makes them durable. A second store opened on the file of one that was
 * never closed is what a restart after kill -9 sees.
 */
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tempPath = () => {
  const dir = mkdtempSync(join(tmpdir(), 'reflex-cdc-wb-'));
  dirs.push(dir);
  return join(dir, 'reflex.db');
};
const open = (path: string) => new SqliteStore({ path, retentionMs: 0, dedupeWindowMs: 86_400_000, synchronous: 'normal' });
const KEYS = ['k1', 'k2', 'k3', 'k4'];

describe('CDC state written behind', () => {
  it('a store opened after a crash has every committed state, version and clock, whatever was flushed', () => {
    const step = fc.record({
      op: fc.constantFrom<CdcIntent['op']>('c', 'u', 'u', 'd', 'r'),
      key: fc.constantFrom(...KEYS),
      after: fc.record({ status: fc.constantFrom('a', 'b'), n: fc.integer({ min: 0, max: 1 }) }),
      dt: fc.integer({ min: -2000, max: 4000 }),
      flush: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(step, { maxLength: 40 }), fc.integer({ min: 1, max: 6 }), fc.boolean(), (steps, batchSize, immediate) => {
        const path = tempPath();
        const store = open(path);
        let crashed: SqliteStore | null = null;
        try {
          let t = 1_000_000;
          const intents: CdcIntent[] = steps.map((s, i) => {
            t += s.dt;
            return { resource: 'orders', key: s.key, op: s.op, timeMs: t, requestId: `q${i}`, after: s.after, source: { gateway: 'kong', operationId: 'o', requestId: `q${i}`, method: 'X', path: '/' } };
          });
          for (let i = 0; i < intents.length; i += batchSize) {
            const entries = intents.slice(i, i + batchSize).map((cdc) => ({ requestKey: cdc.requestId, records: [], cdc }));
            if (immediate) commitApplying(store, { entries });
            else {
              store.commit({ entries });
              applyPending(store, Number.MAX_SAFE_INTEGER);
            }
            // What pruning and listing do now and then.
            if (steps[i]!.flush) store.cdc.flush();
          }
          const before = KEYS.map((k) => store.getResource('orders', k));
          crashed = open(path);
          expect(KEYS.map((k) => crashed!.getResource('orders', k))).toEqual(before);
          // The clock survived too: a log older than a key's state is still late after the restart.
          const live = KEYS.findIndex((_, i) => before[i] !== null);
          if (live >= 0) {
            const old = { ...intents[0]!, key: KEYS[live]!, timeMs: before[live]!.timeMs - 1, requestId: 'old' };
            expect(commitApplying(crashed, { entries: [{ requestKey: 'old', records: [], cdc: old }] }).cdc).toMatchObject({ late: 1, records: 0 });
          }
        } finally {
          crashed?.close();
          store.close();
        }
      }),
      { numRuns: 150 },
    );
  });

  it('an update that changes nothing moves the clock durably, without a change record', () => {
    const path = tempPath();
    const store = open(path);
    const intent = (requestId: string, timeMs: number, status: string): CdcIntent => ({
      resource: 'orders', key: 'k', op: 'u', timeMs, requestId, after: { status }, source: { gateway: 'kong', operationId: 'o', requestId, method: 'PUT', path: '/' },
    });
    commitApplying(store, { entries: [{ requestKey: 'a', records: [], cdc: intent('a', 1000, 'paid') }] });
    store.cdc.flush();
    commitApplying(store, { entries: [{ requestKey: 'b', records: [], cdc: intent('b', 3000, 'paid') }] });
    expect(store.lastOffset('orders.changelog')).toBe(1);
    const reopened = open(path);
    try {
      expect(reopened.getResource('orders', 'k')).toMatchObject({ state: { status: 'paid' }, version: 1, timeMs: 3000, requestId: 'b' });
      // Between the two: late, as it would have been without the restart.
      expect(commitApplying(reopened, { entries: [{ requestKey: 'c', records: [], cdc: intent('c', 2000, 'cancelled') }] }).cdc).toMatchObject({ late: 1 });
    } finally {
      reopened.close();
      store.close();
    }
  });
});

describe('CDC state written behind in slices', () => {
  const intentOf = (i: number, key: string, op: CdcIntent['op'], timeMs: number, after: unknown): CdcIntent => {
    const requestId = `q${String(i).padStart(4, '0')}`;
    return { resource: 'orders', key, op, timeMs, requestId, after, source: { gateway: 'kong', operationId: 'o', requestId, method: 'X', path: '/' } };
  };
  const keysOf = (n: number) => Array.from({ length: n }, (_, i) => `k${String(i).padStart(2, '0')}`);

  it('a crash between slices replays to exactly the committed states, versions and clocks', () => {
    const KEYS20 = keysOf(20);
    const step = fc.record({
      op: fc.constantFrom<CdcIntent['op']>('c', 'u', 'u', 'u', 'd'),
      key: fc.constantFrom(...KEYS20),
      n: fc.integer({ min: 0, max: 2 }),
      dt: fc.integer({ min: -1500, max: 4000 }),
    });
    fc.assert(
      fc.property(fc.array(step, { minLength: 20, maxLength: 120 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 2, max: 10 }), (steps, batchSize, held) => {
        const path = tempPath();
        const store = open(path);
        // A handful of states held, slices of one range of three, so most commits write a slice.
        store.cdc.setWriteBehind(held, 1, { ranges: 3, sample: 6 });
        let crashed: SqliteStore | null = null;
        try {
          let t = 1_000_000;
          const intents = steps.map((s, i) => intentOf(i, s.key, s.op, (t += s.dt), { status: 'x', n: s.n }));
          for (let i = 0; i < intents.length; i += batchSize) {
            commitApplying(store, { entries: intents.slice(i, i + batchSize).map((cdc) => ({ requestKey: cdc.requestId, records: [], cdc })) });
          }
          const before = KEYS20.map((k) => store.getResource('orders', k));
          crashed = open(path);
          expect(KEYS20.map((k) => crashed!.getResource('orders', k))).toEqual(before);
        } finally {
          crashed?.close();
          store.close();
        }
      }),
      { numRuns: 100 },
    );
  });

  it('slices write part of the held states per commit and move the replay mark past what they wrote', () => {
    const path = tempPath();
    const store = open(path);
    store.cdc.setWriteBehind(8, 1, { ranges: 4, sample: 8 });
    const keys = keysOf(40);
    const raw = new Database(path, { readonly: true });
    try {
      const rows = () => raw.prepare('SELECT COUNT(*) FROM cdc_state').pluck().get() as number;
      const mark = () => Number(raw.prepare("SELECT value FROM meta WHERE key = 'cdc_flushed_seq'").pluck().get() ?? 0);
      const last = () => raw.prepare('SELECT MAX(seq) FROM record_blocks').pluck().get() as number;
      let i = 0;
      const grown: number[] = [];
      for (const key of keys) {
        const before = rows();
        commitApplying(store, { entries: [{ requestKey: `r${i}`, records: [], cdc: intentOf(i, key, 'c', 1000 + i++, { n: 1 }) }] });
        grown.push(rows() - before);
      }
      // Never everything at once: each commit past the limit wrote a slice (a range of about a quarter), most wrote nothing.
      expect(Math.max(...grown)).toBeLessThan(8);
      expect(rows()).toBeGreaterThan(0);
      expect(rows()).toBeLessThan(40);
      // The mark is behind the newest block (states are still held) and past the first ones (slices wrote them).
      expect(mark()).toBeGreaterThan(0);
      expect(mark()).toBeLessThan(last());
      const reopened = open(path);
      try {
        expect(keys.map((k) => reopened.getResource('orders', k))).toEqual(keys.map((k) => store.getResource('orders', k)));
      } finally {
        reopened.close();
      }
    } finally {
      raw.close();
      store.close();
    }
  });
});
