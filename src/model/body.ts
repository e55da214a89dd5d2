import { DEFAULT_JSON_DEPTH, deeperThan, stringifyDeep } from './json-depth.js';
import { parseJsonExact } from './json-exact.js';

/**
 * Bodies are parsed as JSON only when the content type says JSON (`application/json`, `+json`);
 * otherwise they stay strings. An empty body is null. A JSON content type with a body that does not
 * parse (truncated by the gateway, say) stays a string rather than failing the exchange, and so does a
 * body nested deeper than `maxDepth` (`limits.jsonDepth`): nothing downstream recurses into it.
 * Integers beyond 2^53 keep their exact digits, as strings (see json-exact.ts).
 */
export function isJsonContentType(contentType: string | undefined | null): boolean {
  if (!contentType) return false;
  const semi = contentType.indexOf(';');
  const mime = (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
  return mime === 'application/json' || mime.endsWith('+json');
}

export function normalizeBody(value: unknown, contentType: string | undefined | null, maxDepth = DEFAULT_JSON_DEPTH): unknown {
  if (value === undefined || value === null || value === '') return null;
  if (typeof value !== 'string') {
    // Already parsed by the gateway plugin (or in an Exchange line): too deep, it becomes its text.
    return deeperThan(value, maxDepth) ? stringifyDeep(value) : value;
  }
  if (!isJsonContentType(contentType)) return value;
  let parsed: unknown;
  try {
    parsed = parseJsonExact(value);
  } catch {
    return value;
  }
  // Nesting d levels takes 2d characters, so most bodies need no walk.
  return value.length > 2 * maxDepth && deeperThan(parsed, maxDepth) ? value : parsed;
}

export function decodeBase64Body(value: string): string {
  return Buffer.from(value, 'base64').toString('utf8');
}
