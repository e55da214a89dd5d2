import type Database from 'better-sqlite3';
import type { FastifyInstance } from 'fastify';
import type { ReflexConfig } from '../config/types.js';
import type { Logger } from '../logger.js';
import type { StreamRecord } from '../model/records.js';
import type { EventLog } from '../store/event-log.js';
import type { SubscriptionStore } from '../store/subscriptions.js';
import type { FollowerRegistry } from '../subscriptions/followers.js';

/** Passed to a sink's factory; `service` is its connector's process-wide service, when it has one. */
export interface SinkContext<Service = undefined> {
  name: string;
  logger: Logger;
  service: Service;
}

/**
 * A sink receives records in stream order from its dispatcher and resolves once they are durably
 * delivered; the dispatcher commits its offset only then (transactional outbox).
 */
export interface Sink {
  deliver(records: StreamRecord[]): Promise<void>;
  close(): Promise<void>;
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
  service?(context: SinkServiceContext): Service;
  create(config: C, context: SinkContext<Service>): Sink | ServiceSink;
}
