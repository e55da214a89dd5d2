import type { Logger } from '../logger.js';
import type { RuleLimits } from '../rules/budget.js';
import type { CompiledSpecSet } from '../spec/types.js';
import type { EntryOutcome } from '../store/types.js';
import type { ResourceState } from '../cdc/types.js';

/** `cluster:` of reflex.yaml, parsed (src/config/parse.ts); `kafka` is the engine's own block. */
export interface ClusterSettings {
  /** The exchanges topic every instance produces to and the group consumes. */
  exchangesTopic: string;
  partitions: number;
  /** Replication factor of the topics reflex creates; null: the brokers' default. */
  replicationFactor: number | null;
  /** Consumer group id, and the prefix of every transactional id. */
  group: string;
  /** The URL other instances reach this one at (null: derived from where it listens). */
  advertisedUrl: string | null;
  /** A member not heard from this long leaves the group (its partitions move). */
  sessionTimeoutMs: number;
  /** The connection block (validated by the engine's connector against its own schema). */
  kafka: { readonly __location?: { file: string; pointer: string; line?: number; column?: number }; [key: string]: unknown };
}

/** An Exchange on its way to the exchanges topic: routed and keyed where its log arrived. */
export interface ExchangeMessage {
  /** The resource key (the partition's key), else the request key. */
  key: string;
  /** The redacted Exchange as JSON. */
  value: string;
  /** `<gateway>:<request id>`, the entry's identity for dedupe. */
  requestKey: string;
  /** The source it came through (for dead letters made by the partition's owner). */
  source: string;
  /** A dead letter sent again: its owner processes it even though its request key was seen. */
  retry?: boolean;
}

/** Where a kafka sink block sends streams; the cluster writes these topics itself, in its transactions. */
export interface ClusterOutput {
  name: string;
  settings: Record<string, unknown>;
  /** Streams it takes (`*` for all). */
  streams: string[];
}

export interface ClusterContext {
  logger: Logger;
  specs: CompiledSpecSet;
  settings: ClusterSettings;
  outputs: ClusterOutput[];
  /** This instance's advertised URL: its name in `GET /cluster`, where other instances send a key's owner lookups. */
  instance: string;
  rules: RuleLimits;
  dedupeWindowMs: number;
  reorderWindowMs: number;
  /** Dead letters and unmatched exchanges of owned partitions go to the local store. */
  keepLocally(entries: EntryOutcome[]): void;
}

export interface OwnedPartition {
  partition: number;
  status: 'restoring' | 'running';
  /** Records read back from the state topic when the partition was taken. */
  restoredRecords: number;
  restoreMs: number | null;
  /** Next exchange offset to process; null until known. */
  nextOffset: number | null;
  highWatermark: number | null;
  lag: number | null;
  /** CDC changes waiting for their reorder window. */
  pending: number;
  keys: number;
}

export interface ClusterMember {
  memberId: string;
  clientId: string;
  host: string;
  /** The member's advertised URL (from its client id), where its keys are answered. */
  url: string | null;
  partitions: number[];
}

export interface ClusterStatus {
  instance: string;
  group: string;
  exchangesTopic: string;
  partitions: number;
  members: ClusterMember[];
  owned: OwnedPartition[];
  /** Live tails (GET /streams/{name}/tail) this instance reads for: opened and their reading not ended. */
  tails: number;
}

export type ResourceLookup =
  | { kind: 'state'; partition: number; state: ResourceState | null }
  | { kind: 'owner'; partition: number; url: string }
  | { kind: 'unavailable'; partition: number };

/** A stream as cluster mode keeps it: a topic of a kafka sink. */
export interface ClusterStreamInfo {
  name: string;
  topic: string;
  /** Per partition: its first offset, and the offset after its last committed record (the stable end). */
  partitions: Array<{ partition: number; firstOffset: number; nextOffset: number }>;
}

/** A committed record of a stream's topic partition; `value` is null for a tombstone (changelogs). */
export interface ClusterRecord {
  partition: number;
  offset: number;
  key: string | null;
  value: unknown;
}

export type ClusterRead =
  | { kind: 'records'; topic: string; records: ClusterRecord[] }
  | { kind: 'no-topic' }
  /** No such partition, or none given for a topic of several. */
  | { kind: 'no-partition'; topic: string; partitions: number };

/**
 * Where a read of a stream's topic partition starts: after this Kafka offset (null: from the
 * first record), or after the committed position of a named consumer of the HTTP API.
 */
export type ClusterReadFrom = number | null | { consumer: string };

/**
 * A named consumer of the HTTP API (the Kafka consumer group `<cluster.group>.api.<consumer>`, which
 * has no members, only committed offsets) and its position on each partition of a stream's topic.
 */
export interface ClusterConsumerPositions {
  consumer: string;
  /**
   * Per partition: `offset` is the offset of the last record the consumer is done with (Kafka's
   * committed offset minus 1; -1 for none, it reads from the partition's first record), `lag` the
   * offsets after it up to the stable end (transaction markers count, as in Kafka's lag).
   */
  partitions: Array<{ partition: number; offset: number; lag: number }>;
}

export type ClusterPositions =
  | { kind: 'positions'; topic: string; consumers: ClusterConsumerPositions[] }
  | { kind: 'no-topic' };

export type ClusterCommit =
  | { kind: 'committed'; topic: string; partition: number; offset: number; lag: number }
  | { kind: 'no-topic' }
  /** No such partition, or none given for a topic of several. */
  | { kind: 'no-partition'; topic: string; partitions: number }
  /** The offset is past the partition's stable end (`last`: the offset of its last record, -1 for none). */
  | { kind: 'past-end'; topic: string; partition: number; last: number }
  /** The consumer's group has members (a Kafka consumer uses it): its offsets are theirs to commit. */
  | { kind: 'busy'; group: string };

/** What one instance answers for the partitions it runs now (`partitions`); the others answer for theirs. */
export interface OwnedPart<T> {
  partitions: number[];
  resources: T[];
}

export interface ResourceCounts {
  name: string;
  keys: number;
  deleted: number;
  /** Changes waiting for their reorder window. */
  pending: number;
}

/**
 * A live tail of a stream's topic over all its partitions, read_committed: each call of `next()`
 * reads on from where the last one stopped. Nothing is read between calls, so a slow client holds
 * nothing back but itself.
 */
export interface ClusterTail {
  topic: string;
  /** Per partition, the offset before the first one the tail reads (-1: from the partition's first record). */
  start: Map<number, number>;
  /**
   * The next committed records: each partition's in offset order, at most a few hundred per
   * partition. Waits while there are none; resolves with none once closed.
   */
  next(): Promise<ClusterRecord[]>;
  /** Ends the tail: a `next()` waiting resolves with nothing, and no read starts again. */
  close(): void;
}

export type ClusterTailOpen =
  | { kind: 'tail'; tail: ClusterTail }
  | { kind: 'no-topic' }
  /** A position was given for a partition the topic does not have. */
  | { kind: 'no-partition'; topic: string; partitions: number };

/** The running engine: the stateless half hands exchanges to it, the stateful half runs inside. */
export interface ClusterEngine {
  /** Resolves once the brokers acknowledged every message (acks=all); rejects with BackpressureError otherwise. */
  publish(messages: ExchangeMessage[]): Promise<void>;
  status(): Promise<ClusterStatus>;
  /** The state of a resource key, from this instance if it owns the key's partition, else where to ask. */
  resource(resource: string, key: string): Promise<ResourceLookup>;
  /** The streams written to the kafka sinks' topics. */
  streams(): Promise<ClusterStreamInfo[]>;
  /**
   * Up to `limit` committed records of a stream's topic partition after offset `after` (null: from
   * the first; a consumer: after its committed position, which reading does not move);
   * `partition` may be left out (null) for a topic of one partition.
   */
  read(stream: string, partition: number | null, after: ClusterReadFrom, limit: number): Promise<ClusterRead>;
  /** Every named consumer of the HTTP API with offsets on the stream's topic, in name order. */
  positions(stream: string): Promise<ClusterPositions>;
  /** Commits a named consumer's position on one partition (`offset`: the last record it is done with, -1 for none). */
  commit(stream: string, consumer: string, partition: number | null, offset: number): Promise<ClusterCommit>;
  /** The first `limit` live keys of `resource` after `after`, in key order, over the partitions this instance runs now. */
  ownedResources(resource: string, after: string, limit: number): OwnedPart<{ key: string } & ResourceState>;
  /** Key counts of each resource over the partitions this instance runs now. */
  ownedSummary(names: readonly string[]): OwnedPart<ResourceCounts>;

  /**
   * A live tail of a stream's topic: every partition from its stable end (like `tail -f`), or
   * after the offset `after` gives for it.
   */
  tail(stream: string, after: ReadonlyMap<number, number>): Promise<ClusterTailOpen>;
  stop(): Promise<void>;
}

/** A cluster engine (`cluster.kafka`), registered like connectors so src/ never imports one. */
export interface ClusterConnector {
  type: string;
  /** Schema of the engine's connection block. */
  configSchema: Record<string, unknown>;
  start(connection: Record<string, unknown>, context: ClusterContext): Promise<ClusterEngine>;
}
