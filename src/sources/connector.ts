import type { Logger } from '../logger.js';
import type { BatchResult } from '../store/types.js';
import type { DecodedEntry, LogFormat } from './types.js';

export interface HttpAnswer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** What a receiving source may add to reflex's HTTP server. */
export interface HttpIngress {
  /** Registers `POST <path>`; the handler gets the raw body text (size-limited by the server). */
  post(path: string, handler: (body: string, headers: Record<string, string | string[] | undefined>) => Promise<HttpAnswer>): void;
}

/** Passed to a source's factory: everything it may use, nothing global. */
export interface SourceContext {
  /** Unique name of this source instance (dead letters and checkpoints carry it). */
  name: string;
  logger: Logger;
  formats: ReadonlyMap<string, LogFormat>;
  http: HttpIngress;
  /** Commits the entries (and the checkpoint, when given) in one transaction. */
  ingest(entries: DecodedEntry[], checkpoint?: string): Promise<BatchResult>;
  getCheckpoint(): string | null;
}

export interface Source {
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** A source type: one file under connectors/sources, registered by `type`. */
export interface SourceConnector<C = Record<string, unknown>> {
  type: string;
  summary: string;
  /** JSON Schema of its `sources:` block in reflex.yaml (without `type`, which the registry adds). */
  configSchema: Record<string, unknown>;
  /** Name of an instance, unique among sources (defaults from the config). */
  instanceName(config: C): string;
  create(config: C, context: SourceContext): Source;
}
