/**
 * JSON.parse, except that integers beyond 2^53 keep their exact digits, as strings: as JS numbers,
 * `9007199254740993` becomes `…992` and two different ids share one resource key. Node 20's
 * JSON.parse cannot show a reviver the source text, so the (rare) text that has a run of 16+ digits
 * is scanned once and such integer literals are quoted before parsing; everything else is plain
 * JSON.parse (same `__proto__` and duplicate-key behaviour, no recursion).
 */
const LONG_DIGITS = /\d{16}/;

export function parseJsonExact(text: string): unknown {
  if (!LONG_DIGITS.test(text)) return JSON.parse(text) as unknown;
  const quoted = quoteUnsafeIntegers(text);
  return JSON.parse(quoted ?? text) as unknown;
}

/** The text with unsafe integer literals (outside strings) quoted, or null when it has none. */
function quoteUnsafeIntegers(text: string): string | null {
  let out = '';
  let copied = 0;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // Skip a string literal, escapes included.
      i++;
      while (i < n) {
        const s = text.charCodeAt(i);
        if (s === 0x5c) i += 2;
        else if (s === 0x22) break;
        else i++;
      }
      i++;
      continue;
    }
    if ((c >= 0x30 && c <= 0x39) || c === 0x2d) {
      const start = i;
      i++;
      while (i < n) {
        const d = text.charCodeAt(i);
        if ((d >= 0x30 && d <= 0x39) || d === 0x2e || d === 0x65 || d === 0x45 || d === 0x2b || d === 0x2d) i++;
        else break;
      }
      const literal = text.slice(start, i);
      if (/^-?\d{16,}$/.test(literal) && !Number.isSafeInteger(Number(literal))) {
        out += text.slice(copied, start) + '"' + literal + '"';
        copied = i;
      }
      continue;
    }
    i++;
  }
  return copied === 0 ? null : out + text.slice(copied);
}
