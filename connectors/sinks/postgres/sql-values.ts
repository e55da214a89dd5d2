/**
 * Values as PostgreSQL takes them. PostgreSQL text cannot hold U+0000 (`invalid byte sequence`), and
 * jsonb refuses the escape `\u0000` and a lone UTF-16 surrogate (`\ud800`). Keys, stream names and
 * bodies are user data that may contain either, so the sink writes U+FFFD (the replacement
 * character) in their place: a row never fails to store over one, at the cost of that character.
 */

const NUL = /\0/g;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** A string PostgreSQL text accepts (node-postgres already turns a lone surrogate into U+FFFD). */
export function sqlText(s: string): string {
  return s.includes('\0') ? s.replace(NUL, '\uFFFD') : s;
}

/** `sqlText` that passes null and undefined on as null. */
export function sqlTextOrNull(s: unknown): string | null {
  if (s === undefined || s === null) return null;
  return sqlText(typeof s === 'string' ? s : String(s));
}

/** JSON text for a jsonb parameter; undefined (no value) stays SQL NULL, JSON null is the jsonb `null`. */
export function jsonbText(value: unknown): string | null {
  if (value === undefined) return null;
  const text = JSON.stringify(value);
  if (text === undefined) return null;
  // JSON.stringify writes \u escapes only for control characters and lone surrogates: without one, nothing to fix.
  if (!text.includes('\\u')) return text;
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'string' ? cleanString(v) : v !== null && typeof v === 'object' && !Array.isArray(v) ? cleanKeys(v) : v));
}

function cleanString(s: string): string {
  return s.replace(NUL, '\uFFFD').replace(LONE_SURROGATE, '\uFFFD');
}

/** An object whose keys hold a NUL or a lone surrogate, copied with clean keys (the values are cleaned as the replacer reaches them). */
function cleanKeys(o: object): object {
  const keys = Object.keys(o);
  if (keys.every((k) => cleanString(k) === k)) return o;
  const out: Record<string, unknown> = {};
  for (const k of keys) out[cleanString(k)] = (o as Record<string, unknown>)[k];
  return out;
}

/** A text[] literal for a parameter typed `text[]` inside a `text[]` column of unnest rows. */
export function textArrayLiteral(items: readonly string[]): string {
  return `{${items.map((s) => `"${sqlText(s).replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`).join(',')}}`;
}
