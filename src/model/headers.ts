import type { HeaderMap } from './exchange.js';

/** Lower-cases names and joins repeated values (arrays) with ", " as HTTP does. */
export function normalizeHeaders(raw: unknown): HeaderMap {
  const out: HeaderMap = {};
  if (!raw || typeof raw !== 'object') return out;
  for (const [name, value] of Object.entries(raw as Record<string, unknown>)) {
    if (value === undefined || value === null) continue;
    out[name.toLowerCase()] = Array.isArray(value) ? value.map(String).join(', ') : String(value);
  }
  return out;
}
