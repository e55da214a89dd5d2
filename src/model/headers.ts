import type { HeaderMap } from './exchange.js';

/** Lower-cases names and joins repeated values (arrays) with ", " as HTTP does. */
export function normalizeHeaders(raw: unknown): HeaderMap {
  const out: HeaderMap = {};
  if (!raw || typeof raw !== 'object') return out;
  const headers = raw as Record<string, unknown>;
  // for...in without Object.entries: this runs for every header of every exchange.
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || value === null) continue;
    out[name.toLowerCase()] = typeof value === 'string' ? value : Array.isArray(value) ? value.map(String).join(', ') : String(value);
  }
  return out;
}
