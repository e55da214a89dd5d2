import type { BatchResult, ChangeTally, EntryOutcome } from '../store/types.js';
import type { BucketSnapshot } from './bucket-counts.js';

/**
 * What each part of reflex counts, narrowed to what it needs: parts take one of these (or none) as
 * a constructor option, so they never see prom-client, and a test passes a fake or nothing.
 */

/** One source's counters, resolved once when the source is created. */
export interface SourceCounters {
  /** A batch of `received` entries was committed with this result. */
  committed(received: number, result: Pick<BatchResult, 'accepted' | 'duplicates' | 'deadLetters'>): void;
}

export interface IngestMetrics {
  /** The entries one batch wrote: matched per operation, unmatched per gateway route, events per stream and type. */
  written(entries: readonly EntryOutcome[]): void;
  /** A group of batches went from its first write to durable (acknowledged). */
  committed(seconds: number): void;
  /** Where this thread times the rules of one exchange. */
  readonly rules: { observe(seconds: number): void };
  /** Rule timings an ingest worker sent back with its batch. */
  addRuleTimes(snapshot: BucketSnapshot): void;
}

export interface CdcMetrics {
  /** Changes applied in a committed transaction. */
  applied(changes: ChangeTally): void;
}

/** One sink's counters, resolved once when its dispatcher is created. */
export interface SinkMetrics {
  delivered(records: number, seconds: number): void;
  failed(seconds: number): void;
}

/**
 * Webhook attempts as the connector sees them. `statusClass`: `2xx`…`5xx` for an HTTP answer,
 * `timeout`, or `error` (no answer: connection refused or reset, an address the guard refused).
 */
export interface WebhookMetrics {
  attempt(endpoint: string, statusClass: string, seconds: number): void;
  deadLettered(endpoint: string): void;
}
