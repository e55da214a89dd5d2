import { statSync } from 'node:fs';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry, type Metric } from 'prom-client';
import type { ChangeTally, EntryOutcome } from '../store/types.js';
import { BoundedLabels } from './bounded-labels.js';
import { RULE_SECONDS_BUCKETS, type BucketSnapshot } from './bucket-counts.js';
import { LabelCache } from './label-cache.js';
import { MergedHistogram } from './merged-histogram.js';
import type { CdcMetrics, IngestMetrics, SinkMetrics, SourceCounters, WebhookMetrics } from './types.js';

/** Gateway routes that get a series of their own in reflex_exchanges_unmatched_total; the rest count as `other`. */
export const UNMATCHED_ROUTE_LIMIT = 100;
/** Stream and type pairs of reflex_events_written_total: published events bring types of their own. */
export const EVENT_SERIES_LIMIT = 1000;

const COMMIT_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
const DELIVERY_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** A sink's gauges, read at scrape time. */
export interface SinkGauges {
  /** Records appended to its streams and not yet delivered. */
  backlog(): number;
  /** Seconds since the oldest undelivered record was appended (0: none). */
  lagSeconds(nowMs: number): number;
}

/**
 * The process's metrics in one prom-client Registry (never the global one): the counters the
 * pipeline, CDC, sinks and webhooks feed through the narrow interfaces of types.ts, gauges read
 * at scrape time from the parts that know them, and Node's process metrics.
 */
export class ReflexMetrics {
  readonly registry = new Registry();
  private readonly sinkGauges = new Map<string, SinkGauges>();
  private cdcPending: { resources: readonly string[]; pending: () => ReadonlyMap<string, number> } | null = null;
  private storeFiles: string[] = [];

  private readonly received = this.counter('reflex_source_entries_received_total', 'Log entries received, per source and format (in committed batches)', ['source', 'format']);
  private readonly accepted = this.counter('reflex_source_entries_accepted_total', 'Log entries accepted (not duplicates), per source and format; includes the dead-lettered ones', ['source', 'format']);
  private readonly duplicates = this.counter('reflex_source_entries_duplicate_total', 'Log entries dropped as already seen within store.dedupeWindow, per source and format', ['source', 'format']);
  private readonly deadLettered = this.counter('reflex_source_entries_dead_lettered_total', 'Log entries that became dead letters (unreadable, or failed while processed), per source and format', ['source', 'format']);
  private readonly matched = new LabelCache(this.counter('reflex_exchanges_matched_total', 'Exchanges that matched an operation, per operationId', ['operation']));
  private readonly unmatched = new LabelCache(this.counter('reflex_exchanges_unmatched_total', `Exchanges that matched no operation, per gateway route (the first ${UNMATCHED_ROUTE_LIMIT} routes seen; later ones count as "other")`, ['route']));
  private readonly unmatchedRoutes = new BoundedLabels(UNMATCHED_ROUTE_LIMIT);
  private readonly events = new LabelCache(this.counter('reflex_events_written_total', `Events written to the event log, per stream and CloudEvents type (the first ${EVENT_SERIES_LIMIT} pairs seen; later types count as "other")`, ['stream', 'type']), EVENT_SERIES_LIMIT);
  private readonly changeRecords = new LabelCache(this.counter('reflex_cdc_change_records_total', 'Change records written, per resource and op (c, u, d, r)', ['resource', 'op']));
  private readonly late = new LabelCache(this.counter('reflex_cdc_changes_late_total', 'Changes older than the stored state of their key (no change record), per resource', ['resource']));
  private readonly skipped = new LabelCache(this.counter('reflex_cdc_changes_skipped_total', 'Changes that could not be applied (logged with the reason), per resource', ['resource']));
  private readonly commitTime = new Histogram({ name: 'reflex_ingest_commit_seconds', help: 'Time from the first write of a group of ingested batches to its durable commit (when the gateways are answered)', buckets: COMMIT_BUCKETS, registers: [this.registry] });
  private readonly ruleTime = this.register(new MergedHistogram('reflex_rule_evaluation_seconds', 'Time to match one exchange to its operation and evaluate that operation\'s rules and CDC state (on the main thread or an ingest worker)', RULE_SECONDS_BUCKETS));
  private readonly sinkDelivered = this.counter('reflex_sink_records_delivered_total', 'Records a sink delivered', ['sink']);
  private readonly sinkFailed = this.counter('reflex_sink_delivery_failures_total', 'Failed delivery attempts of a sink (each retried with backoff)', ['sink']);
  private readonly sinkTime = new Histogram({ name: 'reflex_sink_delivery_seconds', help: 'Time of one delivery of a sink (one batch of records, success or failure)', labelNames: ['sink'], buckets: DELIVERY_BUCKETS, registers: [this.registry] });
  private readonly webhookAttempts = new LabelCache(this.counter('reflex_webhook_attempts_total', 'Webhook delivery attempts per endpoint and status class (2xx..5xx, timeout, error: no answer)', ['endpoint', 'class']));
  private readonly webhookDead = new LabelCache(this.counter('reflex_webhook_dead_letters_total', 'Webhook messages that failed for good (in the endpoint\'s dead letters)', ['endpoint']));
  private readonly webhookTime = new Histogram({ name: 'reflex_webhook_attempt_seconds', help: 'Latency of one webhook delivery attempt, per endpoint', labelNames: ['endpoint'], buckets: DELIVERY_BUCKETS, registers: [this.registry] });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    // Gauges named like counters, which `promtool check metrics` refuses; the per-type gauges
    // (nodejs_active_handles{type}, …) without the suffix stay and carry the same numbers.
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) this.registry.removeSingleMetric(name);
    const self = this;
    new Gauge({
      name: 'reflex_sink_backlog_records', help: 'Records appended to a sink\'s streams and not yet delivered', labelNames: ['sink'], registers: [this.registry],
      collect() {
        this.reset();
        for (const [sink, g] of self.sinkGauges) this.set({ sink }, g.backlog());
      },
    });
    new Gauge({
      name: 'reflex_sink_lag_seconds', help: 'Age of the oldest record a sink has not delivered yet (0 when it is caught up)', labelNames: ['sink'], registers: [this.registry],
      collect() {
        this.reset();
        const now = Date.now();
        for (const [sink, g] of self.sinkGauges) this.set({ sink }, Math.max(0, g.lagSeconds(now)));
      },
    });
    new Gauge({
      name: 'reflex_cdc_changes_pending', help: 'Changes waiting for their reorder window (cdc.reorderWindow), per resource', labelNames: ['resource'], registers: [this.registry],
      collect() {
        this.reset();
        if (!self.cdcPending) return;
        const pending = self.cdcPending.pending();
        for (const resource of self.cdcPending.resources) this.set({ resource }, pending.get(resource) ?? 0);
      },
    });
    new Gauge({
      name: 'reflex_store_size_bytes', help: 'Size of the embedded store on disk (the SQLite file and its write-ahead log)', registers: [this.registry],
      collect() {
        let bytes = 0;
        for (const file of self.storeFiles) bytes += fileSize(file);
        this.set(bytes);
      },
    });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The scrape: every metric in the Prometheus text format. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  /** The counters of one source; `format` is its log format (or its type, when it takes none). */
  source(source: string, format: string): SourceCounters {
    const received = this.received.labels(source, format);
    const accepted = this.accepted.labels(source, format);
    const duplicates = this.duplicates.labels(source, format);
    const dead = this.deadLettered.labels(source, format);
    // Series from the start, so a rate() has its zero.
    for (const c of [received, accepted, duplicates, dead]) c.inc(0);
    return {
      committed(n, result) {
        if (n > 0) received.inc(n);
        if (result.accepted > 0) accepted.inc(result.accepted);
        if (result.duplicates > 0) duplicates.inc(result.duplicates);
        if (result.deadLetters > 0) dead.inc(result.deadLetters);
      },
    };
  }

  readonly ingest: IngestMetrics = {
    written: (entries) => this.written(entries),
    committed: (seconds) => this.commitTime.observe(seconds),
    rules: this.ruleTime.observer,
    addRuleTimes: (snapshot: BucketSnapshot) => this.ruleTime.add(snapshot),
  };

  /** Counted once per batch: a label set's counter is added to once, by what the batch holds of it. */
  private written(entries: readonly EntryOutcome[]): void {
    for (const e of entries) {
      if (e.operation !== undefined) this.matched.add(e.operation);
      else if (e.unmatched) this.unmatched.add(this.unmatchedRoutes.label(e.unmatched.label));
      for (const r of e.records) if (r.type !== undefined) this.events.add(r.stream, r.type);
    }
    this.matched.flush();
    this.unmatched.flush();
    this.events.flush();
  }

  readonly cdc: CdcMetrics = {
    applied: (changes: ChangeTally) => {
      for (const [resource, n] of changes) {
        for (const op of ['c', 'u', 'd', 'r'] as const) if (n[op] > 0) this.changeRecords.add(resource, op, n[op]);
        if (n.late > 0) this.late.add(resource, n.late);
        if (n.skipped > 0) this.skipped.add(resource, n.skipped);
      }
      this.changeRecords.flush();
      this.late.flush();
      this.skipped.flush();
    },
  };

  /** Pending changes per resource, read at scrape time. */
  watchCdc(resources: readonly string[], pending: () => ReadonlyMap<string, number>): void {
    this.cdcPending = { resources, pending };
  }

  /** The store's files, whose sizes are read at scrape time. */
  watchStore(path: string): void {
    this.storeFiles = [path, `${path}-wal`];
  }

  /** One sink's counters, and its gauges read at scrape time. */
  sink(name: string, gauges: SinkGauges): SinkMetrics {
    this.sinkGauges.set(name, gauges);
    const delivered = this.sinkDelivered.labels(name);
    const failed = this.sinkFailed.labels(name);
    const time = this.sinkTime.labels(name);
    delivered.inc(0);
    failed.inc(0);
    return {
      delivered(records, seconds) {
        delivered.inc(records);
        time.observe(seconds);
      },
      failed(seconds) {
        failed.inc();
        time.observe(seconds);
      },
    };
  }

  readonly webhooks: WebhookMetrics = {
    attempt: (endpoint, statusClass, seconds) => {
      this.webhookAttempts.add(endpoint, statusClass);
      this.webhookAttempts.flush();
      this.webhookTime.labels(endpoint).observe(seconds);
    },
    deadLettered: (endpoint) => {
      this.webhookDead.add(endpoint);
      this.webhookDead.flush();
    },
  };

  private counter<L extends string>(name: string, help: string, labelNames: L[]): Counter<L> {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  private register<M extends { name: string }>(metric: M): M {
    this.registry.registerMetric(metric as unknown as Metric);
    return metric;
  }
}

function fileSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}
