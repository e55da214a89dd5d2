import type { Logger } from '../logger.js';
import type { BatchResult, BatchWrite, CdcApplyResult, EventStore } from '../store/types.js';
import { applyPending, commitApplying } from './apply.js';

/** Changes per transaction when draining on the timer. */
const SLICE = 200;

export interface CdcApplierOptions {
  /** Intents wait this long after arrival so that logs arriving out of order apply in request-time order. */
  reorderWindowMs: number;
  logger: Logger;
  now?: () => number;
}

/**
 * Applies pending CDC intents once their reorder window has passed. With a window of 0 the
 * ingestor applies them right after each batch commit, before the gateway gets its answer.
 */
export class CdcApplier {
  private timer: NodeJS.Timeout | null = null;
  private readonly now: () => number;

  constructor(
    private readonly store: EventStore,
    private readonly options: CdcApplierOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  get immediate(): boolean {
    return this.options.reorderWindowMs === 0;
  }

  /** Commits an ingested batch; without a reorder window its changes apply in the same transaction. */
  commit(batch: BatchWrite): BatchResult {
    return this.immediate ? commitApplying(this.store, batch) : this.store.commit(batch);
  }

  /** Applies everything that is due now; `everything` ignores the window (dry runs, shutdown). */
  applyDue(everything = false, collect = false): CdcApplyResult {
    const cutoff = everything ? Number.MAX_SAFE_INTEGER : this.now() - this.options.reorderWindowMs;
    const total: CdcApplyResult = { applied: 0, records: 0, late: 0, skipped: [], appended: new Map(), ...(collect ? { committed: [] } : {}) };
    for (;;) {
      const r = this.applySlice(cutoff, SLICE, collect);
      total.applied += r.applied;
      total.records += r.records;
      total.late += r.late;
      total.skipped.push(...r.skipped);
      for (const [k, v] of r.appended) total.appended.set(k, v);
      if (r.committed) total.committed!.push(...r.committed);
      if (r.applied < SLICE) return total;
    }
  }

  private applySlice(cutoff: number, limit: number, collect = false): CdcApplyResult {
    const r = applyPending(this.store, cutoff, { collect, limit });
    this.report(r.skipped);
    return r;
  }

  /**
   * The timer's work, in slices of a few hundred changes with the event loop free between them, so
   * a burst of due changes never holds up ingest for long (one big transaction did, for 100+ ms).
   */
  private async drain(): Promise<void> {
    const cutoff = this.now() - this.options.reorderWindowMs;
    while (this.timer && this.applySlice(cutoff, SLICE).applied === SLICE) {
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  report(skipped: CdcApplyResult['skipped']): void {
    for (const s of skipped) {
      this.options.logger.warn('change not applied', { resource: s.intent.resource, key: s.intent.key, requestId: s.intent.requestId, reason: s.reason });
    }
  }

  start(): void {
    if (this.immediate || this.timer) return;
    // Often, so each tick has little to do: latency stays flat instead of spiking every few seconds.
    const every = Math.max(20, Math.min(100, Math.floor(this.options.reorderWindowMs / 4)));
    let draining = false;
    this.timer = setInterval(() => {
      if (draining) return;
      draining = true;
      this.drain()
        .catch((err: Error) => this.options.logger.error('applying changes failed; will retry', { error: err.message }))
        .finally(() => (draining = false));
    }, every);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
