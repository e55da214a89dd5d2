import type Database from 'better-sqlite3';
import type { FastifyInstance } from 'fastify';
import type { ReflexConfig } from '../config/types.js';
import type { Logger } from '../logger.js';
import type { StreamRecord } from '../model/records.js';
import type { StreamInfo } from '../spec/types.js';
import type { SinkContract } from './contract.js';
import type { EventLog, StoredRecord } from '../store/event-log.js';
import type { SubscriptionStore } from '../store/subscriptions.js';
import type { FollowerRegistry } from '../subscriptions/followers.js';
import type { WebhookMetrics } from '../metrics/types.js';

/** Passed to a sink's factory; `service` is its connector's process-wide service, when it has one. */
export interface SinkContext<Service = undefined> {
  name: string;
  logger: Logger;
  service: Service;
  /**
   * The streams the loaded specs declare; a changelog stream carries its resource's state schema
   * when the spec says it (for sinks that give a resource typed columns).
   */
  streams: readonly StreamInfo[];
}

/**
 * A sink receives records in stream order from its dispatcher and resolves once they are durably
 * delivered; the dispatcher commits its offset only then (transactional outbox).
 */
export interface Sink {
  /** Records of one stream, in offset order; resolves once they are durable at the remote end. */
  deliver(records: StreamRecord[]): Promise<void>;
  /**
   * Optional, preferred by the dispatcher when present: the next records of several streams at once
   * (each list one stream's, in offset order), values as the store's JSON text, so a sink that sends
   * JSON on needs no parse and stringify, and a remote end that takes several streams in one request
   * (Kafka) gets one round trip for all. Resolves once all of them are durable; the dispatcher then
   * commits every stream's cursor together, and offers all of them again when it rejects.
   */
  deliverStored?(batches: StoredRecord[][]): Promise<void>;
  close(): Promise<void>;
  /**
   * Called once before reflex listens, to connect and prepare the remote end (tables, topics). A
   * rejection stops startup: for permanent problems (an incompatible table). A remote end that
   * cannot be reached yet should not reject; the sink prepares it on the first deliver().
   */
  open?(): Promise<void>;
  /**
   * For sinks that keep their own offsets at the remote end, written in the same transaction as the
   * records (exactly once): the last offset delivered per stream, absent when none. The dispatcher
   * asks at start and after every failed delivery, and resumes after these instead of its cursor.
   */
  positions?(streams: string[]): Promise<Map<string, number>>;
}

/** A delivery error that retrying will not heal (permission denied, disk full, an incompatible table). */
export type PermanentFailure<E extends Error = Error> = E & { permanent: true };

/**
 * Marks a delivery error as permanent: the dispatcher still retries it with backoff (an operator
 * may fix the cause), but logs it as an error once per interval and `GET /sinks` shows it.
 */
export function permanentFailure<E extends Error>(err: E): PermanentFailure<E> {
  return Object.assign(err, { permanent: true as const });
}

export function isPermanentFailure(err: unknown): err is PermanentFailure {
  return err instanceof Error && (err as { permanent?: unknown }).permanent === true;
}

/**
 * A sink its connector's service delivers: the service follows the log for it under its own
 * subscription (a registered follower), so the host runs no dispatcher for it.
 */
export interface ServiceSink {
  deliveredBy: 'service';
  close(): Promise<void>;
}

/** What the log offers a reader: records after an offset, stream names, and a wake-up on appends. */
export type LogReader = Pick<EventLog, 'read' | 'lastOffset' | 'firstOffsetSince' | 'streamNames' | 'hasStream' | 'onAppend'>;

/** What the host hands a connector's service. */
export interface SinkServiceContext {
  logger: Logger;
  /** The whole configuration; a service reads its own top-level block (e.g. `webhooks:`). */
  config: Readonly<ReflexConfig>;
  log: LogReader;
  /** Cursors of the service's followers, one owner each. */
  subscriptions: SubscriptionStore;
  /** Where the service's followers register, for backpressure and the retention floor. */
  followers: FollowerRegistry;
  /** The store's file, for tables the connector owns (versioned with `migrateOwnTables`). */
  database: Database.Database;
  /**
   * Resolves once every record the log held when it was called is on disk (at once with
   * `store.sync: normal`). A service awaits it between reading records and letting them leave the
   * process, as the dispatcher does for sinks: ingest commits before its fsync.
   */
  durable?(): Promise<void>;
  /** Where a service that delivers to HTTP endpoints counts its attempts and dead letters (GET /metrics). */
  metrics?: WebhookMetrics;
}

/**
 * The process-wide part of a sink connector, created once by the host whether or not reflex.yaml
 * declares a sink of its type (webhooks registered over the API need it).
 */
export interface SinkService {
  /** Adds the service's HTTP routes (e.g. `/webhooks`). */
  routes?(app: FastifyInstance): void;
  /** Called once every sink block of reflex.yaml was created, before the server listens. */
  configured?(): void;
  start(): void;
  stop(): Promise<void>;
  /** Forgets the service's own rows older than `beforeMs` (the store's retention). */
  prune?(beforeMs: number): void;
}

export interface SinkConnector<C = Record<string, unknown>, Service extends SinkService | undefined = any> {
  type: string;
  summary: string;
  configSchema: Record<string, unknown>;
  instanceName(config: C): string;
  /** Which streams this sink wants (`["*"]` for all). */
  streams(config: C): string[];
  /** Undelivered records past which ingest is refused. */
  maxBacklog(config: C): number;
  /** Records per deliver() call (default 500). */
  batchSize?(config: C): number;
  service?(context: SinkServiceContext): Service;
  create(config: C, context: SinkContext<Service>): Sink | ServiceSink;
  /**
   * Cluster mode: delivers the sink's streams from the Kafka topics the partition owners write, as a
   * consumer group of its own. A connector without it is refused in cluster mode.
   */
  cluster?(config: C, context: ClusterSinkContext): ClusterSinkRunner;
  /** How the sink carries streams, for the AsyncAPI document; a sink without it is left out of it. */
  contract?(config: C): SinkContract;
}

/** What the host hands a sink that runs in cluster mode. */
export interface ClusterSinkContext {
  name: string;
  logger: Logger;
  /** The whole configuration (a connector reads its own top-level block, e.g. `webhooks:`). */
  config: Readonly<ReflexConfig>;
  /** `cluster.kafka`, validated by the cluster engine's schema (the kafka connectors' connection block). */
  kafka: Record<string, unknown>;
  /** The sink's own consumer group: `<cluster.group>.sink.<name>`. */
  group: string;
  /** The topics to read, each with the stream it holds: the sink's streams that a kafka sink writes. */
  topics: ReadonlyMap<string, string>;
  /** The streams the loaded specs declare (as SinkContext.streams). */
  streams: readonly StreamInfo[];
  /** `cluster.sessionTimeout`: the sink's group drops a dead member after it, as the owners' group does. */
  sessionTimeoutMs: number;
}

export interface ClusterSinkRunner {
  start(): Promise<void>;
  stop(): Promise<void>;
}
