import { BucketCounts, type BucketSnapshot } from './bucket-counts.js';

interface Sample { metricName: string; labels: Record<string, string | number>; value: number }

/**
 * A histogram without labels fed with bucket counts made elsewhere (ingest workers) as well as with
 * single observations, exposed to a prom-client Registry like its own metrics (registerMetric):
 * prom-client's Histogram can only observe one value at a time.
 */
export class MergedHistogram {
  readonly type = 'histogram' as const;
  readonly aggregator = 'sum' as const;
  private readonly cumulative: number[];
  private sum = 0;
  private readonly local: BucketCounts;

  constructor(readonly name: string, readonly help: string, readonly bounds: readonly number[]) {
    this.cumulative = new Array<number>(bounds.length + 1).fill(0);
    this.local = new BucketCounts(bounds);
  }

  /** Where this thread observes; folded in at the next scrape. */
  get observer(): Pick<BucketCounts, 'observe'> {
    return this.local;
  }

  add(snapshot: BucketSnapshot): void {
    if (snapshot.counts.length !== this.cumulative.length) throw new RangeError(`${this.name}: ${snapshot.counts.length} bucket counts for ${this.cumulative.length} buckets`);
    for (let i = 0; i < snapshot.counts.length; i++) this.cumulative[i]! += snapshot.counts[i]!;
    this.sum += snapshot.sum;
  }

  reset(): void {
    this.cumulative.fill(0);
    this.sum = 0;
    this.local.take();
  }

  /** What prom-client's Registry reads of a metric (the shape its Histogram.get() gives). */
  async get(): Promise<{ name: string; help: string; type: 'histogram'; aggregator: 'sum'; values: Sample[] }> {
    const pending = this.local.take();
    if (pending) this.add(pending);
    const values: Sample[] = [];
    let total = 0;
    for (let i = 0; i < this.cumulative.length; i++) {
      total += this.cumulative[i]!;
      values.push({ metricName: `${this.name}_bucket`, labels: { le: i < this.bounds.length ? this.bounds[i]! : '+Inf' }, value: total });
    }
    values.push({ metricName: `${this.name}_sum`, labels: {}, value: this.sum }, { metricName: `${this.name}_count`, labels: {}, value: total });
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }
}
