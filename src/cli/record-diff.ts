import { escapePointerToken } from '../model/json-pointer.js';

/**
 * A readable diff of expected vs actual records, one line per difference:
 *   record 3 (orders OrderPlaced): /value/data/total expected 12.5, got 13
 */
export function diffRecords(expected: unknown[], actual: unknown[]): string[] {
  const out: string[] = [];
  const n = Math.max(expected.length, actual.length);
  for (let i = 0; i < n; i++) {
    const label = `record ${i + 1}${describe(actual[i] ?? expected[i])}`;
    if (i >= actual.length) out.push(`${label}: missing; expected ${JSON.stringify(expected[i])}`);
    else if (i >= expected.length) out.push(`${label}: unexpected ${JSON.stringify(actual[i])}`);
    else for (const d of diffValues(expected[i], actual[i], '')) out.push(`${label}: ${d}`);
  }
  return out;
}

function describe(record: unknown): string {
  const r = record as { stream?: string; value?: { type?: string; op?: string } } | undefined;
  if (!r?.stream) return '';
  return ` (${r.stream} ${r.value?.type ?? (r.value?.op ? `op=${r.value.op}` : '')})`.replace(/ \)$/, ')');
}

export function diffValues(expected: unknown, actual: unknown, pointer: string): string[] {
  if (Object.is(expected, actual)) return [];
  const bothObjects = expected && actual && typeof expected === 'object' && typeof actual === 'object'
    && Array.isArray(expected) === Array.isArray(actual);
  if (!bothObjects) return [`${pointer || '/'} expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`];
  const out: string[] = [];
  const e = expected as Record<string, unknown>;
  const a = actual as Record<string, unknown>;
  for (const k of new Set([...Object.keys(e), ...Object.keys(a)])) {
    const p = `${pointer}/${escapePointerToken(k)}`;
    if (!(k in a)) out.push(`${p} missing; expected ${JSON.stringify(e[k])}`);
    else if (!(k in e)) out.push(`${p} unexpected ${JSON.stringify(a[k])}`);
    else out.push(...diffValues(e[k], a[k], p));
  }
  return out;
}
