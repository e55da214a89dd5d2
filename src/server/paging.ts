import { API_CODES } from '../codes.js';
import { parseDuration } from '../config/duration.js';
import { ReflexError } from '../errors.js';

/**
 * `limit`, `after` and `before` for every list route, read in one place with one cap: a page is
 * bounded whatever the caller asks (`limit=-1` once meant "every row" to SQLite).
 */
export const DEFAULT_PAGE_LIMIT = 100;
export const MAX_PAGE_LIMIT = 1000;

/** A query parameter out of its range: 400, naming the parameter and what it accepts. */
export class QueryParameterError extends ReflexError {
  constructor(readonly parameter: string, accepted: string, got: unknown) {
    super(API_CODES.badQueryParameter, `query parameter ${parameter} must be ${accepted}; got ${JSON.stringify(got)}`, { status: 400 });
  }

  override answerBody(): Record<string, unknown> {
    return { error: this.message, code: this.code, parameter: this.parameter };
  }
}

/** Page size: default 100; a whole number from 1 up; anything over the cap is read as the cap. */
export function pageLimit(raw: unknown): number {
  if (raw === undefined) return DEFAULT_PAGE_LIMIT;
  if (typeof raw !== 'string' || !/^\d+$/.test(raw) || Number(raw) < 1) {
    throw new QueryParameterError('limit', `a whole number from 1 to ${MAX_PAGE_LIMIT} (larger values are read as ${MAX_PAGE_LIMIT})`, raw);
  }
  return Math.min(Number(raw), MAX_PAGE_LIMIT);
}

/** An offset or id to page from (`after`, `before`): a whole number from 0, or undefined when absent. */
export function pagePosition(name: string, raw: unknown): number | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || !/^\d+$/.test(raw) || !Number.isSafeInteger(Number(raw))) {
    throw new QueryParameterError(name, `a whole number from 0 to ${Number.MAX_SAFE_INTEGER}`, raw);
  }
  return Number(raw);
}

/** A duration (`30s`, `500ms`, `2m`) in a query parameter or body field, in milliseconds. */
export function durationParameter(name: string, raw: unknown): number {
  const ms = typeof raw === 'string' ? parseDuration(raw) : null;
  if (ms === null || ms < 0 || ms > 86_400_000) throw new QueryParameterError(name, 'a duration such as 500ms, 30s or 5m (at most 24h)', raw);
  return ms;
}

/** A key to page after (resources): any single string. */
export function pageKey(name: string, raw: unknown): string {
  if (raw === undefined) return '';
  if (typeof raw !== 'string') throw new QueryParameterError(name, 'one key (given once)', raw);
  return raw;
}

/** Querystring schema properties for the paging parameters: strings, checked by the functions above. */
export const PAGE_QUERY = { after: { type: 'string' }, before: { type: 'string' }, limit: { type: 'string' } } as const;
