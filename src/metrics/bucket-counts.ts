/**
 * Observations in fixed buckets, as plain numbers: an ingest worker fills one and sends it back with
 * its batch, where the main thread adds it to the process's histogram (no registry per thread).
 */
export interface BucketSnapshot {
  /** Observations per bucket, not cumulative; one more than the bounds, the last for +Inf. */
  counts: number[];
  sum: number;
}

/** Rule evaluation per exchange: tens of microseconds usually, up to limits.ruleTimeout (1 s). */
export const RULE_SECONDS_BUCKETS: readonly number[] = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 1];

export class BucketCounts {
  private counts: number[];
  private sum = 0;
  private observed = 0;

  constructor(readonly bounds: readonly number[]) {
    this.counts = new Array<number>(bounds.length + 1).fill(0);
  }

  observe(value: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.observed++;
  }

  /** What was observed since the last take (null: nothing), and starts again from zero. */
  take(): BucketSnapshot | null {
    if (this.observed === 0) return null;
    const snapshot = { counts: this.counts, sum: this.sum };
    this.counts = new Array<number>(this.bounds.length + 1).fill(0);
    this.sum = 0;
    this.observed = 0;
    return snapshot;
  }
}
