import type { Logger } from '../logger.js';
import { BackpressureError } from '../sources/types.js';
import type { BatchResult, BatchWrite, CdcApplyResult, ChangeTally, EventStore } from '../store/types.js';
import type { CdcMetrics } from '../metrics/types.js';
import { applyPending, applyPendingInOrder, commitApplying } from './apply.js';
import { DEFAULT_MAX_PENDING } from './types.js';

/** Changes per transaction: at most this many. */
const SLICE = 200;
/**
 * How long one transaction of the timer's work should hold the thread. A batch that arrives
 * meanwhile waits for it: 200 changes took 5-18 ms, most of bench (c)'s p99 of 22 ms at 5,000
 * exchanges/s. The timer's slice size follows the measured cost per change to stay near this.
 */
const SLICE_MS = 2;
const MIN_SLICE = 16;


export interface CdcApplierOptions {
  /** Intents wait this long after arrival so that logs arriving out of order apply in request-time order. */
  reorderWindowMs: number;
  /** Past this many pending intents, batches with changes are refused (503, Retry-After) until the applier catches up. */
  maxPending?: number;
  logger: Logger;
  now?: () => number;
  /** Counts change records by op, late and skipped changes per resource. */
  metrics?: CdcMetrics;
}

/**
 * Applies pending CDC intents once their reorder window has passed. With a window of 0 the
 * ingestor applies them right after each batch commit, before the gateway gets its answer.
 *
 * Pending intents apply in request-time order, each once it has waited the window since its
 * arrival and the newest request time seen is past its own by the window (or nothing arrived for
 * a window: traffic stopped), and never before an older pending one. So an intent is late only if
 * it came a window (of wall time) after a newer one of its key and was a window (of request time)
 * behind it: a log replayed at any speed, with any number of batches in flight, gives the change
 * records of an in-order run. One pending far longer (a request time in the future) applies after
 * HOLD_LIMIT whatever holds it.
 */
export class CdcApplier {
  private timer: NodeJS.Timeout | null = null;
  private readonly now: () => number;
  /** Newest request time of an intent committed by this process (event time). */
  private watermark = Number.NEGATIVE_INFINITY;
  private lastArrival = Number.NEGATIVE_INFINITY;
  private readonly holdLimitMs: number;

  constructor(
    private readonly store: EventStore,
    private readonly options: CdcApplierOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.holdLimitMs = Math.max(60_000, options.reorderWindowMs * 10);
  }

  get immediate(): boolean {
    return this.options.reorderWindowMs === 0;
  }

  get maxPending(): number {
    return this.options.maxPending ?? DEFAULT_MAX_PENDING;
  }

  /**
   * Commits an ingested batch; without a reorder window its changes apply in the same transaction.
   * A batch with changes is refused whole, before anything is written, while too many wait.
   */
  commit(batch: BatchWrite): BatchResult {
    if (this.immediate) return commitApplying(this.store, batch);
    let newest = Number.NEGATIVE_INFINITY;
    for (const e of batch.entries) if (e.cdc && e.cdc.timeMs > newest) newest = e.cdc.timeMs;
    if (newest === Number.NEGATIVE_INFINITY) return this.store.commit(batch);
    const pending = this.store.pendingCdc();
    if (pending >= this.maxPending) {
      throw new BackpressureError(
        `${pending} changes are waiting to be applied (cdc.maxPending ${this.maxPending}); nothing of this batch was stored, send it again`,
        Math.max(1, Math.ceil(this.options.reorderWindowMs / 1000)),
      );
    }
    const result = this.store.commit(batch);
    if (Number.isFinite(newest) && newest > this.watermark) this.watermark = newest;
    this.lastArrival = this.now();
    return result;
  }

  /** Applies everything that is due now; `everything` ignores the window (dry runs, shutdown). */
  applyDue(everything = false, collect = false): CdcApplyResult {
    const total: CdcApplyResult = { applied: 0, records: 0, late: 0, skipped: [], appended: new Map(), ...(collect ? { committed: [] } : {}) };
    for (;;) {
      const r = everything ? applyPending(this.store, Number.MAX_SAFE_INTEGER, { collect, limit: SLICE }) : this.applySlice(collect);
      this.report(r);
      total.applied += r.applied;
      total.records += r.records;
      total.late += r.late;
      total.skipped.push(...r.skipped);
      for (const [k, v] of r.appended) total.appended.set(k, v);
      if (r.committed) total.committed!.push(...r.committed);
      if (r.applied < SLICE) return total;
    }
  }

  /** Changes per transaction of the timer's work (see SLICE_MS). */
  private timerSlice = SLICE;

  /** Up to `limit` due intents, in one transaction; then those held past the limit. */
  private applySlice(collect = false, limit = SLICE): CdcApplyResult {
    const now = this.now();
    const window = this.options.reorderWindowMs;
    const quiet = now - this.lastArrival >= window;
    const r = applyPendingInOrder(this.store, quiet ? Number.MAX_SAFE_INTEGER : this.watermark - window, now - window, { collect, limit });
    if (r.applied === limit) return r;
    const held = applyPending(this.store, now - this.holdLimitMs, { collect, limit: limit - r.applied });
    if (held.applied === 0) return r;
    for (const [k, v] of held.appended) r.appended.set(k, v);
    if (held.committed) r.committed?.push(...held.committed);
    const changes = mergeChanges(r.changes, held.changes);
    return { ...r, applied: r.applied + held.applied, records: r.records + held.records, late: r.late + held.late, skipped: [...r.skipped, ...held.skipped], ...(changes ? { changes } : {}) };
  }

  /**
   * The timer's work, in slices of a few hundred changes with the event loop free between them, so
   * a burst of due changes never holds up ingest for long (one big transaction did, for 100+ ms).
   */
  private async drain(): Promise<void> {
    try {
      while (this.timer) {
        const limit = this.timerSlice;
        const started = performance.now();
        const r = this.deferSync(() => this.applySlice(false, limit));
        this.fitSlice(r.applied, performance.now() - started);
        this.report(r);
        if (r.applied < limit) return;
        await new Promise((resolve) => setImmediate(resolve));
      }
    } finally {
      this.syncSoon();
    }
  }

  /**
   * The timer's slices commit without an fsync of their own (with store.sync full SQLite would
   * fsync each on this thread: 8% of it under bench (b)). Nothing is lost to a power cut: the
   * intents they take stay in the durable pending journal until a synced commit marks them taken,
   * so lost slices apply again the same way; and sinks and consumers read records only once
   * store.durable() covers them. syncSoon() starts that fsync on libuv's pool.
   */
  private deferSync<R>(fn: () => R): R {
    return this.store.deferSync ? this.store.deferSync(fn) : fn();
  }

  private syncSoon(): void {
    this.store.durable?.().catch((err: unknown) => this.options.logger.error('cannot sync the store after applying changes', { error: (err as Error)?.message ?? String(err) }));
  }

  /** Sizes the next slice from this one's cost per change (halfway there: one slow slice, a GC, does not swing it). */
  private fitSlice(applied: number, ms: number): void {
    if (applied < MIN_SLICE) return;
    const fit = (SLICE_MS * applied) / Math.max(ms, 0.01);
    this.timerSlice = Math.round(Math.min(SLICE, Math.max(MIN_SLICE, (this.timerSlice + fit) / 2)));
  }

  /** Logs the changes that were not applied and counts what was (once the transaction committed). */
  report(result: Pick<CdcApplyResult, 'skipped' | 'changes'>): void {
    if (result.changes) this.options.metrics?.applied(result.changes);
    for (const s of result.skipped) {
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

function mergeChanges(a: ChangeTally | undefined, b: ChangeTally | undefined): ChangeTally | undefined {
  if (!a || !b) return a ?? b;
  for (const [resource, counts] of b) {
    const into = a.get(resource);
    if (!into) a.set(resource, counts);
    else for (const k of Object.keys(counts) as Array<keyof typeof counts>) into[k] += counts[k];
  }
  return a;
}
