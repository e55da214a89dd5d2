import type { Logger } from '../logger.js';
import { isPermanentFailure, type Sink } from '../sinks/connector.js';
import { sinkOwner } from '../store/subscriptions.js';
import type { EventLog, StoredJsonReader } from '../store/event-log.js';
import type { EventStore } from '../store/types.js';
import type { SinkMetrics } from '../metrics/types.js';

/** The store as a dispatcher reads it: its log also hands out records as stored JSON text. */
export type DispatchStore = EventStore & { readonly log: EventLog & StoredJsonReader };

const LAG_REPORT_MS = 30_000;
/** A failure that repeats is logged again at most this often (with how many attempts failed since). */
const FAILURE_REPORT_MS = 60_000;

/** How the sink's deliveries go, for `GET /sinks`. */
export interface DeliveryHealth {
  state: 'ok' | 'failing';
  error?: { message: string; permanent: boolean; since: string; attempts: number };
}

export interface DispatcherOptions {
  name: string;
  /** Stream names, or `*` for every stream (including ones created later). */
  streams: string[];
  batchSize?: number;
  /** First retry delay after a failed delivery; doubles up to maxBackoffMs. */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Records delivered, failed deliveries and their times. */
  metrics?: SinkMetrics;
}

/**
 * Reads the store from this sink's own cursor, per stream (a subscription owned by `sink:<name>`),
 * and hands records to the sink (transactional outbox). The cursor is committed only after the
 * sink resolved, so a crash repeats at most the last batch and never skips one. Records go out
 * only once store.durable() resolved after reading them: ingest may commit without waiting for
 * the disk (the gateway is answered after the fsync that follows), and no sink may have a record
 * that a power cut could still take from the store.
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
  /** The sink's own offsets (Sink.positions), read at start and after a failure; they win over the cursor. */
  private positions: Map<string, number> | null = null;
  private failure: { message: string; permanent: boolean; since: number; attempts: number; reportedAt: number } | null = null;

  constructor(
    private readonly store: DispatchStore,
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
    return this.positions?.get(stream) ?? this.store.subscriptions.cursor(this.owner, stream) ?? 0;
  }

  health(): DeliveryHealth {
    const f = this.failure;
    if (!f) return { state: 'ok' };
    return { state: 'failing', error: { message: f.message, permanent: f.permanent, since: new Date(f.since).toISOString(), attempts: f.attempts } };
  }

  /**
   * A sink that keeps its offsets at the remote end says where it is; reflex's cursor may be behind
   * (a crash between the remote commit and ours) or ahead (the remote database restored from a backup).
   */
  private async resync(streams: string[]): Promise<void> {
    if (!this.sink.positions) return;
    const remote = await this.sink.positions(streams);
    const positions = new Map<string, number>();
    for (const stream of streams) {
      const local = this.store.subscriptions.cursor(this.owner, stream) ?? 0;
      const at = remote.get(stream) ?? 0;
      if (at < local) this.logger.warn('the sink\'s own offset is behind reflex\'s cursor; delivering again from there', { sink: this.options.name, stream, sinkOffset: at, cursor: local });
      positions.set(stream, at);
    }
    if (positions.size > 0) this.store.subscriptions.commit(this.owner, positions);
    this.positions = positions;
  }

  /** Records appended to this sink's streams but not yet delivered, all streams together. */
  backlog(): number {
    let total = 0;
    for (const n of Object.values(this.lag())) total += n;
    return total;
  }

  /**
   * Seconds since the oldest record this sink has not delivered was appended (0: caught up), by
   * the append time of its block; read at scrape time.
   */
  lagSeconds(nowMs: number): number {
    let oldest = nowMs;
    for (const stream of this.selectedStreams()) {
      const cursor = this.cursor(stream);
      if (this.store.lastOffset(stream) <= cursor) continue;
      const at = this.store.log.appendedAfter(stream, cursor);
      if (at !== null && at < oldest) oldest = at;
    }
    return (nowMs - oldest) / 1000;
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
      const started = performance.now();
      try {
        const streams = this.selectedStreams();
        if (this.sink.positions && (this.positions === null || streams.some((s) => !this.positions!.has(s)))) await this.resync(streams);
        delivered = this.sink.deliverStored ? await this.deliverStored(streams) : await this.deliverEach(streams);
        if (delivered > 0) this.options.metrics?.delivered(delivered, (performance.now() - started) / 1000);
        backoff = this.options.backoffMs ?? 200;
        this.recovered();
      } catch (err) {
        this.options.metrics?.failed((performance.now() - started) / 1000);
        this.failed(err as Error, backoff);
        // Whether the failed delivery reached the remote end is unknown: ask it again.
        this.positions = null;
        // Appends do not cut a backoff short: under load they would turn it into a retry per append.
        await this.sleep(backoff, { wakeOnAppend: false });
        backoff = Math.min(backoff * 2, this.options.maxBackoffMs ?? 30_000);
        continue;
      }
      if (delivered === 0) await this.sleep(1000);
    }
  }

  /** One deliver() per stream with records, its cursor committed after each. */
  private async deliverEach(streams: string[]): Promise<number> {
    let delivered = 0;
    for (const stream of streams) {
      const records = this.store.read(stream, this.cursor(stream), this.batchSize);
      if (records.length === 0) continue;
      await this.store.durable?.();
      await this.sink.deliver(records);
      const last = records[records.length - 1]!.offset;
      this.positions?.set(stream, last);
      this.store.subscriptions.commit(this.owner, new Map([[stream, last]]));
      delivered += records.length;
    }
    return delivered;
  }

  /**
   * The next batch of every stream in one deliverStored() call, as stored JSON text, and every
   * cursor committed in one transaction after it resolved: one round trip (and one fsync) for all
   * streams instead of one per stream, so the sink keeps up while ingest runs.
   */
  private async deliverStored(streams: string[]): Promise<number> {
    const batches = [];
    let delivered = 0;
    for (const stream of streams) {
      const records = this.store.log.readJson(stream, this.cursor(stream), this.batchSize);
      if (records.length === 0) continue;
      batches.push(records);
      delivered += records.length;
    }
    if (batches.length === 0) return 0;
    await this.store.durable?.();
    await this.sink.deliverStored!(batches);
    const cursors = new Map<string, number>();
    for (const records of batches) {
      const last = records[records.length - 1]!;
      cursors.set(last.stream, last.offset);
      this.positions?.set(last.stream, last.offset);
    }
    this.store.subscriptions.commit(this.owner, cursors);
    return delivered;
  }

  /** The first failure is logged, then the same failure at most once per FAILURE_REPORT_MS. */
  private failed(err: Error, retryInMs: number): void {
    const now = Date.now();
    const permanent = isPermanentFailure(err);
    const f = this.failure;
    if (f && f.message === err.message) {
      f.attempts++;
      if (now - f.reportedAt < FAILURE_REPORT_MS) return;
      f.reportedAt = now;
    } else {
      this.failure = { message: err.message, permanent, since: f?.since ?? now, attempts: (f?.attempts ?? 0) + 1, reportedAt: now };
    }
    const fields = { sink: this.options.name, error: err.message, attempts: this.failure!.attempts, retryInMs };
    if (permanent) this.logger.error('delivery failed and will keep failing until the cause is fixed; retrying', fields);
    else this.logger.warn('delivery failed; will retry', fields);
  }

  private recovered(): void {
    if (!this.failure) return;
    this.logger.info('delivery recovered', { sink: this.options.name, failedAttempts: this.failure.attempts, failingForMs: Date.now() - this.failure.since });
    this.failure = null;
  }

  /** A sink that is behind says so in the log, with its lag per stream, every LAG_REPORT_MS. */
  private reportLag(): void {
    const lag = this.lag();
    const total = Object.values(lag).reduce((a, b) => a + b, 0);
    if (total > 0) this.logger.info('sink is behind', { sink: this.options.name, backlog: total, lag });
  }

  /** Sleeps until the timeout or the next append (unless told not to), or until stop(). */
  private sleep(ms: number, options: { wakeOnAppend: boolean } = { wakeOnAppend: true }): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        if (options.wakeOnAppend || !this.running) {
          this.wake = null;
          done();
        }
      };
    });
  }
}
