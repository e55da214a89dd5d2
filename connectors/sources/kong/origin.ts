/**
 * Scheme and host of a logged request URL, as `new URL(url)` gives them, without parsing the whole
 * URL every time: a gateway logs the same few origins over and over, and URL parsing was a visible
 * share of decoding. Only plain `http://` / `https://` URLs with a non-empty authority take the
 * cached path; for those the WHATWG parser's scheme and host depend on the authority alone (it ends
 * at the first / \ ? #), so the answer is the same. Everything else is parsed in full.
 */
export interface Origin {
  scheme: string;
  host: string;
}

const MAX_CACHED = 256;
const cache = new Map<string, Origin | null>();

export function originOf(value: unknown): Origin | null {
  if (typeof value !== 'string') return null;
  const after = value.startsWith('https://') ? 8 : value.startsWith('http://') ? 7 : -1;
  if (after === -1) return parse(value);
  let end = after;
  while (end < value.length) {
    const c = value.charCodeAt(end);
    if (c === 0x2f || c === 0x5c || c === 0x3f || c === 0x23) break; // / \ ? #
    end++;
  }
  // `https:///host` skips the extra slashes: leave such oddities to the full parser.
  if (end === after) return parse(value);
  const prefix = value.slice(0, end);
  let origin = cache.get(prefix);
  if (origin === undefined) {
    origin = parse(prefix);
    // Bounded: logs carry client-controlled URLs.
    if (cache.size >= MAX_CACHED) cache.clear();
    cache.set(prefix, origin);
  }
  return origin;
}

function parse(value: string): Origin | null {
  try {
    const url = new URL(value);
    return { scheme: url.protocol.replace(/:$/, ''), host: url.host };
  } catch {
    return null;
  }
}
