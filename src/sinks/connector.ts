import type { Logger } from '../logger.js';
import type { StreamRecord } from '../model/records.js';
import type { WebhookRegistrar } from '../webhooks/types.js';

/** Passed to a sink's factory. */
export interface SinkContext {
  name: string;
  logger: Logger;
  /** Webhook endpoints are delivered by reflex's webhook service; a sink can declare them. */
  webhooks: WebhookRegistrar;
}

/**
 * A sink receives records in stream order from its dispatcher and resolves once they are durably
 * delivered; the dispatcher commits its offset only then (transactional outbox).
 */
export interface Sink {
  deliver(records: StreamRecord[]): Promise<void>;
  close(): Promise<void>;
}

export interface SinkConnector<C = Record<string, unknown>> {
  type: string;
  summary: string;
  configSchema: Record<string, unknown>;
  instanceName(config: C): string;
  /** Which streams this sink wants (`["*"]` for all). */
  streams(config: C): string[];
  /** Undelivered records past which ingest is refused. */
  maxBacklog(config: C): number;
  /** The sink, or null when the connector handed its work to a service of reflex (webhooks). */
  create(config: C, context: SinkContext): Sink | null;
}
