import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyPending, commitApplying } from '../../src/cdc/apply.js';
import type { CdcIntent } from '../../src/cdc/types.js';
import type { ChangeRecord } from '../../src/model/records.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';

/**
 * Through the real store: random operations on random keys, committed in random batches, applied
 * either inside each batch (no reorder window) or later from the pending queue (with a window).
 * Replaying the change log must give exactly the stored state.
 */
describe('CDC in the store (property)', () => {
  it('replaying the change records equals the stored state', () => {
    const step = fc.record({
      op: fc.constantFrom<CdcIntent['op']>('c', 'u', 'u', 'd', 'r'),
      key: fc.constantFrom('k1', 'k2', 'k3', 'k4'),
      after: fc.record({ status: fc.constantFrom('a', 'b', 'c'), n: fc.integer({ min: 0, max: 2 }) }),
      patch: fc.option(fc.record({ status: fc.constantFrom('z', null) }), { nil: undefined }),
      dt: fc.integer({ min: -2000, max: 4000 }),
    });
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), fc.integer({ min: 1, max: 10 }), fc.boolean(), (steps, batchSize, immediate) => {
        const store = new SqliteStore({ path: ':memory:', retentionMs: 0, dedupeWindowMs: 86_400_000, synchronous: 'normal' });
        try {
          let t = 1_000_000;
          const intents: CdcIntent[] = steps.map((s, i) => {
            t += s.dt;
            const base = { resource: 'orders', key: s.key, op: s.op, timeMs: t, requestId: `q${i}`, source: { gateway: 'kong', operationId: 'o', requestId: `q${i}`, method: 'X', path: '/' } };
            return s.op === 'u' && s.patch ? { ...base, patch: { format: 'merge' as const, document: s.patch } } : { ...base, after: s.after };
          });
          for (let i = 0; i < intents.length; i += batchSize) {
            const entries = intents.slice(i, i + batchSize).map((cdc) => ({ requestKey: cdc.requestId, records: [], cdc }));
            if (immediate) commitApplying(store, { entries });
            else store.commit({ entries });
          }
          if (!immediate) applyPending(store, Number.MAX_SAFE_INTEGER);
          const replayed = new Map<string, unknown>();
          for (const r of store.read('orders.changelog', 0, 10_000)) {
            const change = r.value as ChangeRecord;
            if (change.op === 'd') replayed.delete(change.key);
            else replayed.set(change.key, change.after);
          }
          const stored = new Map(store.listResource('orders', '', 100).map((s) => [s.key, s.state]));
          expect(replayed).toEqual(stored);
        } finally {
          store.close();
        }
      }),
      { numRuns: 300 },
    );
  });
});
