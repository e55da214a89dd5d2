import type { Diagnostic } from '../model/diagnostic.js';
import type { StreamRecord } from '../model/records.js';
import type { CdcDecision, CdcIntent, ResourceState } from '../cdc/types.js';

/** A record the pipeline wants appended to a stream; the store assigns the offset. */
export interface PendingRecord {
  stream: string;
  key: string | null;
  value: unknown;
  /** `value` already serialized (the pipeline does it once to check limits.eventSize). */
  json?: string;
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
  cdc?: CdcIntent;
  /** Label of the gateway route when no operation matched. */
  unmatched?: { label: string; method: string; path: string; hint?: string };
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
   * Apply this batch's CDC intents inside the same transaction, in request-time order, instead of
   * keeping them pending (no reorder window).
   */
  decideCdc?: (intent: CdcIntent, current: ResourceState | null) => CdcDecision;
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
  /** Only when the batch applied its CDC intents (`decideCdc`). */
  cdc?: { records: number; late: number; skipped: Array<{ intent: CdcIntent; reason: string }> };
}

export interface CdcApplyResult {
  applied: number;
  records: number;
  late: number;
  skipped: Array<{ intent: CdcIntent; reason: string }>;
  appended: Map<string, number>;
  committed?: StreamRecord[];
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

/** The event log: streams, dead letters, checkpoints, consumer offsets, dedupe window. */
export interface EventStore {
  ensureStreams(streams: Array<{ name: string; kind: 'events' | 'changelog' }>): void;
  /** Which of these request keys were already committed inside the dedupe window. */
  seen(requestKeys: string[]): Set<string>;
  /** One transaction: records, dead letters, counters, dedupe keys and the checkpoint, or none of them. */
  commit(batch: BatchWrite): BatchResult;
  read(stream: string, afterOffset: number, limit: number): StreamRecord[];
  streams(): StreamSummary[];
  /** Names only, from memory: cheap enough for every batch. */
  streamNames(): string[];
  hasStream(stream: string): boolean;
  /** The first offset of `stream` appended at or after `timeMs`, or null when there is none. */
  firstOffsetSince(stream: string, timeMs: number): number | null;
  lastOffset(stream: string): number;
  getConsumerOffset(stream: string, consumer: string): number | null;
  setConsumerOffset(stream: string, consumer: string, offset: number): void;
  consumerOffsets(stream: string): ConsumerOffset[];
  deadLetters(afterId: number, limit: number): DeadLetter[];
  deadLetter(id: number): DeadLetter | null;
  unmatched(): UnmatchedCount[];
  getCheckpoint(source: string): string | null;
  setCheckpoint(source: string, value: string): void;
  /**
   * Applies pending CDC intents received at or before `cutoff` (ms), in request-time order, each
   * through `decide`, writing state and change records in one transaction.
   */
  applyCdc(cutoff: number, decide: (intent: CdcIntent, current: ResourceState | null) => CdcDecision, options?: { limit?: number; collect?: boolean }): CdcApplyResult;
  pendingCdc(): number;
  getResource(resource: string, key: string): ResourceState | null;
  /** Keys of a resource in key order, after the `after` key; deleted keys are left out. */
  listResource(resource: string, afterKey: string, limit: number): Array<{ key: string } & ResourceState>;
  resources(names: string[]): ResourceSummary[];
  /** Drops records older than the retention and dedupe keys older than the window. */
  /**
   * `delivered(stream)` is the lowest offset every sink of that stream has delivered: records past
   * it are kept whatever their age, so retention never drops what a sink still has to send.
   */
  prune(now: number, delivered?: (stream: string) => number): { records: number; dedupeKeys: number };
  /** Called after every commit that appended records, with the last offset per stream. */
  onAppend(listener: (appended: Map<string, number>) => void): () => void;
  close(): void;
}
