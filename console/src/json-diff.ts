/** One changed place of a change record: its JSON pointer, the value before and after. */
export interface DiffRow {
  pointer: string;
  before: unknown;
  after: unknown;
}

/** The changes between two states, at the pointers a change record lists (every leaf that differs when it lists none). */
export function diffRows(before: unknown, after: unknown, changed?: string[]): DiffRow[] {
  const pointers = changed && changed.length > 0 ? changed : leafDifferences(before, after, '');
  return pointers.map((pointer) => ({ pointer, before: at(before, pointer), after: at(after, pointer) }));
}

function leafDifferences(a: unknown, b: unknown, pointer: string): string[] {
  if (isObject(a) && isObject(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].flatMap((k) => leafDifferences(a[k], b[k], `${pointer}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`));
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [pointer || '/'];
}

function at(value: unknown, pointer: string): unknown {
  if (pointer === '' || pointer === '/') return value;
  let v: unknown = value;
  for (const raw of pointer.slice(1).split('/')) {
    const token = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (!isObject(v) && !Array.isArray(v)) return undefined;
    v = (v as Record<string, unknown>)[token];
  }
  return v;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
