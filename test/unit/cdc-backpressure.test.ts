import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CdcApplier } from '../../src/cdc/applier.js';
import type { CdcIntent } from '../../src/cdc/types.js';
import { silentLogger } from '../../src/logger.js';
import { BackpressureError } from '../../src/sources/types.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import type { EntryOutcome } from '../../src/store/types.js';

const intent = (n: number): CdcIntent => ({
  resource: 'orders', key: `k${n % 2}`, op: 'u', timeMs: 1_000 + n, requestId: `r${n}`, after: { n },
  source: { gateway: 'kong', operationId: 'o', requestId: `r${n}`, method: 'PUT', path: '/' },
});
const entry = (n: number, cdc = true): EntryOutcome => ({
  requestKey: `kong:r${n}`, records: [{ stream: 'orders', key: `k${n % 2}`, value: { n } }], ...(cdc ? { cdc: intent(n) } : {}),
});

describe('CDC pending backlog (cdc.maxPending)', () => {
  it('refuses a batch with changes whole once maxPending wait, takes batches without changes, and takes them again once applied', () => {
    const store = new SqliteStore({ path: ':memory:', retentionMs: 0, dedupeWindowMs: 86_400_000, synchronous: 'normal' });
    const cdc = new CdcApplier(store, { reorderWindowMs: 3_600_000, maxPending: 3, logger: silentLogger });
    try {
      cdc.commit({ entries: [entry(1), entry(2), entry(3)] });
      expect(store.pendingCdc()).toBe(3);
      let refusal: unknown;
      try {
        cdc.commit({ entries: [entry(4, false), entry(5)] });
      } catch (err) {
        refusal = err;
      }
      expect(refusal).toBeInstanceOf(BackpressureError);
      expect(refusal).toMatchObject({ status: 503, retryAfterSeconds: 3600 });
      expect((refusal as Error).message).toContain('cdc.maxPending 3');
      // Nothing of the refused batch: no event, no dedupe key (a re-send is not a duplicate), nothing pending.
      expect(store.lastOffset('orders')).toBe(3);
      expect(store.seen(['kong:r4', 'kong:r5'])).toEqual(new Set());
      expect(store.pendingCdc()).toBe(3);
      // Events without changes still go in.
      expect(cdc.commit({ entries: [entry(6, false)] }).accepted).toBe(1);
      cdc.applyDue(true);
      expect(store.pendingCdc()).toBe(0);
      expect(cdc.commit({ entries: [entry(4, false), entry(5)] }).accepted).toBe(2);
      expect(store.pendingCdc()).toBe(1);
    } finally {
      store.close();
    }
  });
});

describe('pending intents per resource (GET /resources)', () => {
  it('counts what is committed and waiting, per resource, and the same after a reopen', () => {
    const dir = mkdtempSync(join(tmpdir(), 'reflex-cdc-pending-'));
    const path = join(dir, 'reflex.db');
    const open = () => new SqliteStore({ path, retentionMs: 0, dedupeWindowMs: 86_400_000, synchronous: 'normal' });
    const pendingOf = (store: SqliteStore) => store.resources(['customers', 'orders']).map((r) => [r.name, r.pending]);
    const customer = (n: number): EntryOutcome => ({ requestKey: `kong:c${n}`, records: [], cdc: { ...intent(n), resource: 'customers', requestId: `c${n}` } });
    let store = open();
    try {
      const cdc = new CdcApplier(store, { reorderWindowMs: 3_600_000, maxPending: 3, logger: silentLogger });
      cdc.commit({ entries: [entry(1), entry(2), customer(3)] });
      expect(pendingOf(store)).toEqual([['customers', 1], ['orders', 2]]);
      // A refused batch (past maxPending) adds nothing.
      expect(() => cdc.commit({ entries: [entry(4), customer(5), customer(6), entry(7)] })).toThrow(BackpressureError);
      expect(pendingOf(store)).toEqual([['customers', 1], ['orders', 2]]);
      store.close();
      store = open();
      expect(pendingOf(store)).toEqual([['customers', 1], ['orders', 2]]);
      new CdcApplier(store, { reorderWindowMs: 3_600_000, logger: silentLogger }).applyDue(true);
      expect(pendingOf(store)).toEqual([['customers', 0], ['orders', 0]]);
    } finally {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
