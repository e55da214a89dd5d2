import type { Logger } from '../logger.js';
import type { BatchResult } from '../store/types.js';
import { waitOutBackpressure } from './backpressure.js';
import type { HttpIngress, IngestOptions, SourceContext } from './connector.js';
import type { PreparedBatch } from '../pipeline/prepared.js';
import { utf8 } from './utf8.js';
import { BackpressureError, type DecodedEntry, type DecodeOptions, type LogFormat } from './types.js';

/** What the host gives every source; `commit` stores a batch or throws BackpressureError. */
export interface SourceHost {
  name: string;
  logger: Logger;
  format: LogFormat | null;
  decodeOptions: DecodeOptions;
  http: HttpIngress;
  /** Stores a batch: decoded entries, or a payload an ingest worker is processing (see `prepare`). */
  commit(entries: DecodedEntry[] | Promise<PreparedBatch>, checkpoint: string | undefined): Promise<BatchResult>;
  /** Decodes and processes a payload of this source's format on an ingest worker; absent: on the main thread. */
  prepare?: ((payload: string | Uint8Array) => Promise<PreparedBatch>) | null | undefined;
  getCheckpoint(): string | null;
}

/**
 * A source's context, and the controller the host aborts before calling the source's stop(): the
 * backpressure wait lives here once, not in each source.
 */
export function sourceContext(host: SourceHost): { context: SourceContext; stopping: AbortController } {
  const stopping = new AbortController();
  const { format, decodeOptions, logger } = host;
  const context: SourceContext = {
    name: host.name,
    logger,
    format: format && { ...format, decode: (payload, o) => format.decode(payload, { ...decodeOptions, ...o }) },
    http: host.http,
    signal: stopping.signal,
    getCheckpoint: host.getCheckpoint,
    ingest(entries, options = {}) {
      return ingestWith(() => host.commit(entries, options.checkpoint), options);
    },
    async ingestPayload(payload, options = {}) {
      if (!context.format) throw new Error(`source '${host.name}' takes no format, so it has no payloads to decode`);
      if (!host.prepare) {
        const entries = context.format.decode(typeof payload === 'string' ? payload : utf8(payload));
        return { received: entries.length, result: await context.ingest(entries, options) };
      }
      let prepared: Promise<PreparedBatch> | null = null;
      const result = await ingestWith(() => {
        // Sent to a worker once, however often backpressure has the commit tried again.
        prepared ??= host.prepare!(payload);
        // A batch refused before the ingestor awaited it must not leave an unhandled rejection behind.
        prepared.catch(() => undefined);
        return host.commit(prepared, options.checkpoint);
      }, options);
      return { received: (await prepared!).received, result };
    },
  };
  /** Stores a batch, answering at once (`refuse`) or waiting out a sink's backlog (`wait`). */
  function ingestWith(attempt: () => Promise<BatchResult>, options: IngestOptions): Promise<BatchResult> {
    if (options.backpressure === 'refuse') {
      // A stopped source ingests nothing more: a request that reaches a receiver late is refused as during a stop.
      if (stopping.signal.aborted) return Promise.reject(new BackpressureError('reflex is stopping; nothing of this batch was stored, send it again', 1));
      return attempt();
    }
    return waitOutBackpressure(attempt, {
      signal: stopping.signal,
      whileWaiting: options.whileWaiting,
      onWait: (err) => logger.info('waiting for a sink to catch up', { reason: err.message, retryAfterSeconds: err.retryAfterSeconds }),
      onResume: () => logger.info('sink caught up; ingesting again'),
    });
  }
  return { context, stopping };
}
