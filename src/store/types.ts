import type { Diagnostic } from '../model/diagnostic.js';
import type { StreamRecord } from '../model/records.js';
import type { CdcIntent, ResourceState } from '../cdc/types.js';
import type { CdcStateStore } from './cdc-state.js';
import type { EventLog } from './event-log.js';
import type { IngestLedger } from './ingest-ledger.js';
import type { SubscriptionStore } from './subscriptions.js';
import type { ConsumerAcks } from './consumer-acks.js';

/** A record the pipeline wants appended to a stream; the store assigns the offset. */
export interface PendingRecord {
  stream: string;
  key: string | null;
  value: unknown;
  /** `value` already serialized (the pipeline does it once to check limits.eventSize). */
  json?: string;
  /** The CloudEvent `type`, for the metrics (value may be undefined, see prepared.ts). */
  type?: string;
}

/**
 * Everything one ingested log entry produced. `requestKey` makes re-sent entries idempotent:
 * a group whose key is inside the dedupe window is dropped whole.
 */
export interface EntryOutcome {
  requestKey: string;
  records: PendingRecord[];
  deadLetter?: DeadLetterWrite;
  /**
   * Set when a dead letter is processed again: the entry is already in the dedupe window, so it is
   * not checked there, and the dead letter is removed in the same transaction.
   */
  retryOf?: number;
  /** A resource state change, kept pending until the reorder window has passed. */
  cdc?: CdcIntent | IntentText;
  /** The operationId the exchange matched (records or a rule's dead letter), for the metrics. */
  operation?: string;
  /** Label of the gateway route when no operation matched. */
  unmatched?: { label: string; method: string; path: string; hint?: string };
}

/**
 * A CDC intent as its JSON text (as an ingest worker hands it over), with the fields that order it
 * beside: queued, the text goes to the pending journal as it is; applied, it is parsed (intentOf).
 */
export interface IntentText {
  resource: string;
  key: string;
  timeMs: number;
  requestId: string;
  text: string;
}

export function intentOf(intent: CdcIntent | IntentText): CdcIntent {
  return 'text' in intent ? (JSON.parse(intent.text) as CdcIntent) : intent;
}

export interface DeadLetterWrite {
  source: string;
  /** The entry's identity (`<gateway>:<request id>`, or a hash of an unreadable entry). */
  requestKey: string;
  diagnostic: Diagnostic;
  /** The original record (raw log entry or Exchange), as received. */
  record: unknown;
}

export interface BatchWrite {
  entries: EntryOutcome[];
  /** Source checkpoint committed in the same transaction (pulled sources). */
  checkpoint?: { source: string; value: string };
  /** Return the appended records in commit order (for dry runs; costs memory). */
  collect?: boolean;
  /**
   * Hand this batch's CDC intents back in `BatchResult.intents` instead of keeping them pending:
   * the caller (src/cdc, no reorder window) applies them inside the same transaction.
   */
  returnCdc?: boolean;
}

export interface BatchResult {
  accepted: number;
  duplicates: number;
  records: number;
  deadLetters: number;
  unmatched: number;
  /** Last offset per stream touched by this batch. */
  appended: Map<string, number>;
  /** Only when the batch asked to `collect`. */
  committed?: StreamRecord[];
  /** Only when the batch asked to `returnCdc`: its intents, in entry order. */
  intents?: CdcIntent[];
  /** Only when the batch's CDC intents were applied with it. */
  cdc?: { records: number; late: number; skipped: Array<{ intent: CdcIntent; reason: string }>; changes?: ChangeTally };
}

/** What applying changes did to one resource: change records by op, late and skipped intents. */
export interface ResourceChanges { c: number; u: number; d: number; r: number; late: number; skipped: number }

/** Per resource; only resources something happened to. */
export type ChangeTally = Map<string, ResourceChanges>;

export function tallyChange(result: { changes?: ChangeTally }, resource: string, what: keyof ResourceChanges): void {
  const tally = (result.changes ??= new Map());
  let counts = tally.get(resource);
  if (!counts) tally.set(resource, (counts = { c: 0, u: 0, d: 0, r: 0, late: 0, skipped: 0 }));
  counts[what]++;
}

export interface CdcApplyResult {
  applied: number;
  records: number;
  late: number;
  skipped: Array<{ intent: CdcIntent; reason: string }>;
  appended: Map<string, number>;
  committed?: StreamRecord[];
  changes?: ChangeTally;
}

export interface ResourceSummary {
  name: string;
  keys: number;
  deleted: number;
  late: number;
  skipped: number;
  pending: number;
}

export interface StreamSummary {
  name: string;
  kind: 'events' | 'changelog';
  firstOffset: number | null;
  lastOffset: number;
  count: number;
}

export interface DeadLetter {
  id: number;
  time: string;
  source: string;
  requestKey: string;
  diagnostic: Diagnostic;
  record: unknown;
}

export interface UnmatchedCount {
  label: string;
  count: number;
  lastMethod: string;
  lastPath: string;
  lastSeen: string;
  /** What route matching tried for the last one, and why nothing matched. */
  hint: string | null;
}

export interface ConsumerOffset {
  consumer: string;
  offset: number;
  updatedAt: string;
}

/**
 * The embedded store as its callers see it: the parts (each with its own narrow interface), the
 * batch commit that writes several of them in one transaction, and the reads the HTTP API needs.
 */
export interface EventStore
  extends Omit<EventLog, 'append' | 'pruneBefore' | 'appendedAfter'>, Pick<IngestLedger, 'seen' | 'deadLetters' | 'deadLetter' | 'unmatched' | 'getCheckpoint'> {
  readonly log: EventLog;
  readonly ledger: IngestLedger;
  readonly cdc: CdcStateStore;
  readonly subscriptions: SubscriptionStore;
  /** Per-event acknowledgements of consumers that process out of order. */
  readonly acks: ConsumerAcks;
  /** Runs `fn` in one transaction over every part; appends are announced after it commits. */
  transaction<R>(fn: () => R): R;
  /** One transaction: records, dead letters, counters, dedupe keys, CDC intents and the checkpoint, or none of them. */
  commit(batch: BatchWrite): BatchResult;
  /**
   * Runs `fn` with its commits not waiting for the disk; `durable()` resolves once everything
   * committed before it survives power loss (store.sync full). Acknowledge only after it. A store
   * without these waits for the disk at each commit.
   */
  deferSync?<R>(fn: () => R): R;
  durable?(): Promise<void>;
  setCheckpoint(source: string, value: string): void;
  pendingCdc(): number;
  getResource(resource: string, key: string): ResourceState | null;
  listResource(resource: string, afterKey: string, limit: number): Array<{ key: string } & ResourceState>;
  resources(names: string[]): ResourceSummary[];
  /**
   * Drops records older than the retention and dedupe keys older than the window. `delivered(stream)`
   * is the lowest offset every sink of that stream has delivered: records past it are kept whatever
   * their age, so retention never drops what a sink still has to send.
   */
  prune(now: number, delivered?: (stream: string) => number): { records: number; dedupeKeys: number };
  close(): void;
}
