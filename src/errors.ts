/**
 * The one base error (as Fastify's `FST_ERR_…` and undici's `UND_ERR_…`): callers switch on
 * `code`, never on message text or class names. `status` is the HTTP status it answers with when
 * it reaches the HTTP API (500 unless the caller is at fault); `pointer` is the JSON pointer of the
 * offending value (request body, query, spec or entry) when there is one.
 */
export interface ReflexErrorOptions {
  /** HTTP status when the error reaches the HTTP API; 500 when not given. */
  status?: number;
  /** JSON pointer of the offending value. */
  pointer?: string;
  cause?: unknown;
}

export class ReflexError extends Error {
  readonly code: string;
  readonly status: number;
  readonly pointer: string | undefined;

  constructor(code: string, message: string, options: ReflexErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = options.status ?? 500;
    this.pointer = options.pointer;
  }

  /**
   * The JSON body the HTTP API answers with. A subclass whose routes answered another shape
   * before this class existed overrides it, so no client sees a changed body.
   */
  answerBody(): Record<string, unknown> {
    return { error: this.message, code: this.code, ...(this.pointer !== undefined ? { pointer: this.pointer } : {}) };
  }
}

export function isReflexError(err: unknown): err is ReflexError {
  return err instanceof ReflexError;
}
