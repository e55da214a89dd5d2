import type { Logger } from '../logger.js';
import type { Sink } from '../sinks/connector.js';
import { sinkOwner } from '../store/subscriptions.js';
import type { EventStore } from '../store/types.js';

const LAG_REPORT_MS = 30_000;

export interface DispatcherOptions {
  name: string;
  /** Stream names, or `*` for every stream (including ones created later). */
  streams: string[];
  batchSize?: number;
  /** First retry delay after a failed delivery; doubles up to maxBackoffMs. */
  backoffMs?: number;
  maxBackoffMs?: number;
}

/**
 * Reads the store from this sink's own cursor, per stream (a subscription owned by `sink:<name>`),
 * and hands records to the sink (transactional outbox). The cursor is committed only after the
 * sink resolved, so a crash repeats at most the last batch and never skips one.
 */
export class Dispatcher {
  private running = false;
  private wake: (() => void) | null = null;
  private loop: Promise<void> | null = null;
  private unsubscribe: (() => void) | null = null;
  private readonly batchSize: number;
  /** The subscription's owner name. */
  readonly owner: string;
  /** How many streams the store had when this sink last declared what it follows. */
  private followedOf = -1;

  constructor(
    private readonly store: EventStore,
    private readonly sink: Sink,
    private readonly logger: Logger,
    private readonly options: DispatcherOptions,
  ) {
    this.batchSize = options.batchSize ?? 500;
    this.owner = sinkOwner(options.name);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.unsubscribe = this.store.onAppend(() => this.wake?.());
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.unsubscribe?.();
    this.wake?.();
    await this.loop;
    await this.sink.close();
  }

  /** The streams this sink takes; each has a cursor (from 0), so retention keeps what it has yet to deliver. */
  private selectedStreams(): string[] {
    const all = this.store.streamNames().sort();
    const selected = this.options.streams.includes('*') ? all : all.filter((s) => this.options.streams.includes(s));
    if (all.length !== this.followedOf) {
      this.store.subscriptions.follow(this.owner, selected);
      this.followedOf = all.length;
    }
    return selected;
  }

  /** The streams of the log this sink follows now. */
  streams(): string[] {
    return this.selectedStreams();
  }

  private cursor(stream: string): number {
    return this.store.subscriptions.cursor(this.owner, stream) ?? 0;
  }

  /** Records appended to this sink's streams but not yet delivered, all streams together. */
  backlog(): number {
    let total = 0;
    for (const n of Object.values(this.lag())) total += n;
    return total;
  }

  /** Lag per stream: records appended but not yet delivered. */
  lag(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const stream of this.selectedStreams()) {
      out[stream] = this.store.lastOffset(stream) - this.cursor(stream);
    }
    return out;
  }

  private async run(): Promise<void> {
    let backoff = this.options.backoffMs ?? 200;
    let lagReported = Date.now();
    while (this.running) {
      let delivered = 0;
      if (Date.now() - lagReported >= LAG_REPORT_MS) {
        lagReported = Date.now();
        this.reportLag();
      }
      try {
        for (const stream of this.selectedStreams()) {
          const records = this.store.read(stream, this.cursor(stream), this.batchSize);
          if (records.length === 0) continue;
          await this.sink.deliver(records);
          this.store.subscriptions.commit(this.owner, new Map([[stream, records[records.length - 1]!.offset]]));
          delivered += records.length;
        }
        backoff = this.options.backoffMs ?? 200;
      } catch (err) {
        this.logger.warn('delivery failed; will retry', { sink: this.options.name, error: (err as Error).message, retryInMs: backoff });
        await this.sleep(backoff);
        backoff = Math.min(backoff * 2, this.options.maxBackoffMs ?? 30_000);
        continue;
      }
      if (delivered === 0) await this.sleep(1000);
    }
  }

  /** A sink that is behind says so in the log, with its lag per stream, every LAG_REPORT_MS. */
  private reportLag(): void {
    const lag = this.lag();
    const total = Object.values(lag).reduce((a, b) => a + b, 0);
    if (total > 0) this.logger.info('sink is behind', { sink: this.options.name, backlog: total, lag });
  }

  /** Sleeps until the timeout or the next append, whichever comes first. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        this.wake = null;
        done();
      };
    });
  }
}
