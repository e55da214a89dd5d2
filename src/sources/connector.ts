import type { Logger } from '../logger.js';
import type { BatchResult } from '../store/types.js';
import type { SourceProgress } from './progress.js';
import type { DecodedEntry, LogFormat } from './types.js';
import type { PreparedBatch } from '../pipeline/prepared.js';

export interface HttpAnswer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** What a receiving source may add to reflex's HTTP server. */
export interface HttpIngress {
  /** Registers `POST <path>`; the handler gets the raw body text (size-limited by the server). */
  post(path: string, handler: (body: string, headers: Record<string, string | string[] | undefined>) => Promise<HttpAnswer>): void;
  /**
   * The same with the body as received, undecoded, in a Buffer of the handler's own (it may hand it
   * over): a payload given to ingestPayload as bytes is decoded as UTF-8 on the ingest worker, not
   * on the thread that writes the store. Optional (a host may only have text); reflex's server has it.
   */
  postBytes?(path: string, handler: (body: Buffer, headers: Record<string, string | string[] | undefined>) => Promise<HttpAnswer>): void;
}

export interface IngestOptions {
  /** Committed with the entries, in the same transaction. */
  checkpoint?: string | undefined;
  /**
   * `wait` (default): while a sink's backlog is full, wait its Retry-After and try the same batch
   * again, until `signal` aborts. `refuse`: throw the BackpressureError (a receiver answers 503).
   */
  backpressure?: 'wait' | 'refuse';
  /** Called about once a second while waiting (e.g. a Kafka heartbeat); resolving false gives up (AbortError). */
  whileWaiting?: () => Promise<boolean> | boolean;
}

/** Passed to a source's factory: everything it may use, nothing global. */
export interface SourceContext {
  /** Unique name of this source instance (dead letters and checkpoints carry it). */
  name: string;
  logger: Logger;
  /** The instance's `format:`, looked up by the host (with this config's decode limits); null when the source takes none. */
  format: LogFormat | null;
  http: HttpIngress;
  /** Aborted when the source is stopped: a wait for backpressure ends at once. */
  signal: AbortSignal;
  /** Commits the entries (and the checkpoint, when given) in one transaction. */
  ingest(entries: DecodedEntry[], options?: IngestOptions): Promise<BatchResult>;
  /**
   * Decodes a payload with `format` and ingests its entries: on an ingest worker thread when
   * `ingest.workers` > 0 and the format can run there, else here. Throws PayloadError when the
   * payload is malformed (then nothing of it is stored); otherwise as `ingest`. Bytes are UTF-8
   * text, decoded where the payload is processed, and handed over: they may be moved to the worker
   * (detached here), so the caller must not use them afterwards.
   */
  ingestPayload(payload: string | Uint8Array, options?: IngestOptions): Promise<{ received: number; result: BatchResult }>;
  getCheckpoint(): string | null;
}

export interface Source {
  start(): Promise<void>;
  stop(): Promise<void>;
  /**
   * Where the source stands (GET /sources, the catch-up log lines, /readyz): called often, so it
   * only reads fields the source keeps up to date, never I/O. Without it the source is `running`.
   */
  status?(): SourceProgress;
}

/** A source type: one file under connectors/sources, registered by `type` (see defineSource in src/sdk). */
export interface SourceConnector<C = Record<string, unknown>> {
  type: string;
  summary: string;
  /** JSON Schema of its `sources:` block in reflex.yaml (without `type`, which the registry adds). */
  configSchema: Record<string, unknown>;
  /** Whether the block names a log format (`format:`), which the host resolves and checks at load. */
  takesFormat: boolean;
  /** Name of an instance, unique among sources (defaults from the config). */
  instanceName(config: C): string;
  create(config: C, context: SourceContext): Source;
}
