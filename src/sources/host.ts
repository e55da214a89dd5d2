import type { Logger } from '../logger.js';
import type { BatchResult } from '../store/types.js';
import { waitOutBackpressure } from './backpressure.js';
import type { HttpIngress, SourceContext } from './connector.js';
import { BackpressureError, type DecodedEntry, type DecodeOptions, type LogFormat } from './types.js';

/** What the host gives every source; `commit` stores a batch or throws BackpressureError. */
export interface SourceHost {
  name: string;
  logger: Logger;
  format: LogFormat | null;
  decodeOptions: DecodeOptions;
  http: HttpIngress;
  commit(entries: DecodedEntry[], checkpoint: string | undefined): Promise<BatchResult>;
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
      const attempt = () => host.commit(entries, options.checkpoint);
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
    },
  };
  return { context, stopping };
}
