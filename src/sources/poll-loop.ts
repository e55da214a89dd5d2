import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../logger.js';
import { isAbort } from './backpressure.js';
import { sourceError, type SourceError } from './progress.js';

/** What a failed pass means, as a pulling source words it for its log line and status. */
export interface PollFailure {
  code: string;
  status?: number | undefined;
  message: string;
}

export interface PollLoop {
  /** Resolves when the signal aborts (the source stops). */
  run(): Promise<void>;
  /** True while the last pass failed: status() reports `degraded`. */
  readonly failing: boolean;
  readonly lastError: SourceError | undefined;
}

/**
 * The loop every pulling source (s3, elasticsearch) runs: one pass, then the poll interval; a failed
 * pass is retried with a doubling wait (1 s up to `maxBackoffMs`), logged once per kind of failure,
 * not at every retry, and a recovery is logged once.
 */
export function pollLoop(options: {
  signal: AbortSignal;
  logger: Logger;
  pollMs: number;
  maxBackoffMs?: number;
  /** One pass over what there is to read. */
  pass: () => Promise<void>;
  describe: (err: unknown) => PollFailure;
  /** What is read, for the log lines (`cannot read <what>: …`), and the fields they carry. */
  what: string;
  fields: Record<string, unknown>;
  /** Called after a failed pass, before the wait. */
  onFailure?: () => void;
}): PollLoop {
  const maxBackoffMs = options.maxBackoffMs ?? 60_000;
  let failing = false;
  let lastError: SourceError | undefined;
  const { signal, logger } = options;
  return {
    get failing() {
      return failing;
    },
    get lastError() {
      return lastError;
    },
    async run() {
      let failures = 0;
      while (!signal.aborted) {
        let wait = options.pollMs;
        try {
          await options.pass();
          if (failing) logger.info(`reading ${options.what} again`, options.fields);
          failing = false;
          failures = 0;
        } catch (err) {
          if (isAbort(err) || signal.aborted) return;
          failures++;
          options.onFailure?.();
          wait = Math.min(1000 * 2 ** (failures - 1), maxBackoffMs);
          const f = options.describe(err);
          if (!failing || f.code !== lastError?.code) {
            logger.error(`cannot read ${options.what}: ${f.code}${f.status ? ` (HTTP ${f.status})` : ''}: ${f.message}; retrying with backoff`, {
              ...options.fields, code: f.code, ...(f.status ? { status: f.status } : {}), retryInSeconds: wait / 1000,
            });
          }
          failing = true;
          lastError = { ...sourceError(err), code: f.code, message: f.message };
        }
        await sleep(wait, undefined, { signal }).catch(() => undefined);
      }
    },
  };
}
