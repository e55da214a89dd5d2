const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** "7d", "90m", "1500ms", "2h30m" -> milliseconds; null when the text is not a duration. */
export function parseDuration(text: string): number | null {
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/gy;
  let total = 0;
  let matched = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    total += Number(m[1]) * UNITS[m[2]!]!;
    matched = re.lastIndex;
  }
  return matched === text.length && text.length > 0 ? Math.round(total) : null;
}

/** "10mb", "512kb", "1048576" -> bytes; null when not a size. */
export function parseSize(text: string | number): number | null {
  if (typeof text === 'number') return Number.isInteger(text) && text > 0 ? text : null;
  const m = /^(\d+)\s*(b|kb|mb|gb)?$/i.exec(text.trim());
  if (!m) return null;
  const mult = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 }[(m[2] ?? 'b').toLowerCase() as 'b'];
  return Number(m[1]) * mult;
}
