import { isReflexError } from '../errors.js';

/**
 * - `running`: reading live, no backlog known (receivers; Kafka without a lag figure).
 * - `catching-up`: behind (a backlog, history being read): logged every 30 s until caught up.
 * - `idle`: caught up, waiting for more input.
 * - `degraded`: cannot read (bucket or broker unreachable, access denied ...); `lastError` says why,
 *   and /readyz answers 503 until the source reports another state.
 * - `stopped`: not reading (before start, after stop, a one-shot import that finished).
 */
export type SourceState = 'running' | 'catching-up' | 'idle' | 'degraded' | 'stopped';

/** The last failure of a source; kept after it recovers, for the operator. */
export interface SourceError {
  /** The failing library's code (e.g. AWS `AccessDenied`, Node `ENOENT`) or an RX code. */
  code: string;
  message: string;
  /** RFC 3339 time it happened. */
  at: string;
}

/** What a source reports about itself (Source.status()); the host adds type, name and the entries ingested. */
export interface SourceProgress {
  state: SourceState;
  /** Connector-defined, JSON: a file's `{offset, line}`, Kafka's offsets per partition, an S3 key. */
  position?: unknown;
  /** RFC 3339 time of the input at `position` (the last entry's time, an object's LastModified). */
  positionTime?: string;
  /** How far behind the source is, in seconds (0 when caught up). */
  lagSeconds?: number;
  /** Input read so far by this process (entries are counted by the host). */
  read?: { bytes?: number; objects?: number; documents?: number };
  /** What is left to read, when known. */
  remaining?: { objects?: number; bytes?: number; entries?: number };
  lastError?: SourceError;
}

/** One source as `GET /sources` lists it. */
export interface SourceStatus extends Omit<SourceProgress, 'read'> {
  type: string;
  name: string;
  read: { entries: number; bytes?: number; objects?: number; documents?: number };
}

/** A SourceError from anything thrown: the library's own code when it has one (AWS SDK `name`, Node `code`). */
export function sourceError(err: unknown, at: Date = new Date()): SourceError {
  const e = err as { code?: unknown; name?: unknown; Code?: unknown; message?: unknown } | null;
  const code = isReflexError(err)
    ? err.code
    : typeof e?.Code === 'string'
      ? e.Code
      : typeof e?.code === 'string'
        ? e.code
        : typeof e?.name === 'string' && e.name !== 'Error'
          ? e.name
          : 'Error';
  const message = typeof e?.message === 'string' && e.message !== '' ? e.message : String(err);
  return { code, message, at: at.toISOString() };
}
