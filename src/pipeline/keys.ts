import { CODES } from '../codes.js';
import { ReflexError } from '../errors.js';

/**
 * Resource keys as strings. A composite key (an array, e.g. `[request.params.tenant, request.params.id]`)
 * is joined with "/" after percent-encoding "%" and "/" in each part, so `["a/b","c"]` -> `a%2Fb/c`
 * and no two different composite keys collide. Empty (null, undefined, "", []) gives null.
 */
export function formatKey(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value.length > 0 ? value : null;
  if (typeof value === 'number' && Number.isInteger(value) && !Number.isSafeInteger(value)) throw new UnsafeKeyError(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (Array.isArray(value)) {
    if (value.length === 0) return null;
    const parts: string[] = [];
    for (const part of value) {
      const s = formatKey(part);
      if (s === null) return null;
      parts.push(s.replace(/%/g, '%25').replace(/\//g, '%2F'));
    }
    return parts.join('/');
  }
  return JSON.stringify(value);
}

/**
 * RX409: a key that is a JSON number beyond 2^53. Its exact digits are lost (…993 reads as …992), so
 * two resources could share one key; the exchange becomes a dead letter instead. Bodies parsed from
 * text keep such integers exact (as strings), so this happens only for bodies a log already carried
 * as parsed JSON.
 */
export class UnsafeKeyError extends ReflexError {
  declare readonly code: typeof CODES.unsafeKey;
  constructor(value: number) {
    super(CODES.unsafeKey, `the key ${value} is an integer beyond 2^53, whose exact digits JSON numbers cannot keep (two resources could share it); log the body as text, or the id as a string`);
  }
}
