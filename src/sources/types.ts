import type { Diagnostic } from '../model/diagnostic.js';
import type { Exchange } from '../model/exchange.js';
import { API_CODES, CODES } from '../codes.js';
import { ReflexError } from '../errors.js';

/** One entry of a decoded payload: an Exchange, or why this entry could not become one. */
export type DecodedEntry =
  /** `pointer` and `line`: where the entry sat in its payload, for a dead letter made while processing it. */
  | { ok: true; exchange: Exchange; raw: unknown; pointer?: string; line?: number }
  | { ok: false; diagnostic: Diagnostic; raw: unknown; requestKey: string };

/** A payload that is not well-formed at all (bad JSON): the whole payload is rejected (400), nothing is stored. */
export class PayloadError extends ReflexError {
  constructor(
    message: string,
    /** 1-based line and column, when the parser tells them. */
    readonly line?: number,
    readonly column?: number,
  ) {
    super(CODES.entryUnreadable, message, { status: 400 });
  }

  override answerBody(): Record<string, unknown> {
    return { error: this.message, line: this.line ?? null, column: this.column ?? null };
  }
}

/**
 * Ingest refused for now because a sink's backlog is past its limit; nothing was stored.
 * Receivers answer 503 with Retry-After, pulling sources wait and read the same input again.
 */
export class BackpressureError extends ReflexError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(API_CODES.backpressure, message, { status: 503 });
  }

  override answerBody(): Record<string, unknown> {
    return { error: this.message };
  }
}

/**
 * A gateway log format: turns one payload (an HTTP body, a file chunk, a Kafka message value)
 * into Exchanges. Formats are registered by name (`format:` in config, `--format` in the CLI).
 */
export interface LogFormat {
  name: string;
  summary: string;
  /**
   * false: the format never carries request/response bodies (AWS API Gateway access logs), so rules
   * that read them cannot fire; serve and `reflex test` warn about such rules (RX156). Default true.
   */
  bodies?: boolean;
  /**
   * The URL of the module that exports this format (`import.meta.url`): ingest workers
   * (`ingest.workers`) import it there. A format without it is decoded on the main thread.
   */
  module?: string;
  /** Throws PayloadError when the payload is malformed; entries that parse but do not fit become `ok: false`. */
  decode(payload: string, options?: DecodeOptions): DecodedEntry[];
}

export interface DecodeOptions {
  /** `limits.jsonDepth`: a body nested deeper stays text (default DEFAULT_JSON_DEPTH). */
  maxDepth?: number;
}
