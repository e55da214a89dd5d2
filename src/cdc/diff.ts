/**
 * What an `after` state changes in a `before` state, found in one walk: the JSON pointers that
 * differ (what a change record's `changed` says) and, for storing the record without its `before`,
 * the old value at each of them (stored-change.ts). One walk instead of a diff, then a parse of
 * every pointer and a second walk per pointer, then a third for the member order.
 */

/** `[pointer]` when `before` had nothing there, `[pointer, old value]` otherwise. */
export type Restore = Array<[string] | [string, unknown]>;

export interface StateDiff {
  /** Sorted. `""` when the two are not both objects or both arrays. */
  changed: string[];
  /**
   * The old values at `changed`, in the same order, or null when `before` must be stored whole: no
   * `before` or no `after`, the whole value replaced, or a member order that rebuilding from
   * `after` would not give back (a removed member put back would come last).
   */
  restore: Restore | null;
}

interface Walk { changed: string[]; restore: Restore; ordered: boolean }

export function diffStates(before: unknown, after: unknown): StateDiff {
  const w: Walk = { changed: [], restore: [], ordered: true };
  walk(before, after, '', w);
  const { changed, restore } = w;
  if (changed.length > 1) {
    const order = changed.map((_, i) => i).sort((i, j) => (changed[i]! < changed[j]! ? -1 : changed[i]! > changed[j]! ? 1 : 0));
    w.changed = order.map((i) => changed[i]!);
    w.restore = order.map((i) => restore[i]!);
  }
  const rebuildable = before !== null && before !== undefined && after !== null && w.ordered && w.changed[0] !== '';
  return { changed: w.changed, restore: rebuildable ? w.restore : null };
}

/** RFC 6901: `~` and `/` escaped; most member names have neither. */
const escapeToken = (k: string) => (k.includes('~') || k.includes('/') ? k.replace(/~/g, '~0').replace(/\//g, '~1') : k);

type Obj = Record<string, unknown>;
const own = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k);

function changedAt(w: Walk, pointer: string, old: unknown): void {
  w.changed.push(pointer);
  // `undefined` (a member JSON leaves out, or an array hole) is as absent as a missing one.
  w.restore.push(old === undefined ? [pointer] : [pointer, old]);
}

/**
 * Compared position by position: object members by name, array items by index. A member's pointer
 * is made only when it differs (most are equal strings or numbers: no string built for them).
 */
function walk(a: unknown, b: unknown, pointer: string, w: Walk): void {
  if (Object.is(a, b)) return;
  const containers = a !== null && b !== null && typeof a === 'object' && typeof b === 'object' && Array.isArray(a) === Array.isArray(b);
  if (!containers) {
    if (!deepEqual(a, b)) changedAt(w, pointer, a);
    return;
  }
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    const n = Math.max(a.length, bb.length);
    for (let i = 0; i < n; i++) {
      if (i >= a.length) changedAt(w, `${pointer}/${i}`, undefined);
      else if (i >= bb.length) changedAt(w, `${pointer}/${i}`, a[i]);
      else if (!Object.is(a[i], bb[i])) walk(a[i], bb[i], `${pointer}/${i}`, w);
    }
    return;
  }
  const ao = a as Obj;
  const bo = b as Obj;
  for (const k in ao) {
    if (!own(bo, k)) changedAt(w, `${pointer}/${escapeToken(k)}`, ao[k]);
    else if (!Object.is(ao[k], bo[k])) walk(ao[k], bo[k], `${pointer}/${escapeToken(k)}`, w);
  }
  for (const k in bo) if (!own(ao, k)) changedAt(w, `${pointer}/${escapeToken(k)}`, undefined);
  if (w.ordered) w.ordered = orderKept(ao, bo);
}

/** Every member of `before` is in `after` (with a value), in the same order; `after` may have more. */
function orderKept(before: Obj, after: Obj): boolean {
  const keys = Object.keys(after);
  let j = 0;
  for (const k of Object.keys(before)) {
    while (j < keys.length && (keys[j] !== k || after[k] === undefined)) j++;
    if (j === keys.length) return false;
    j++;
  }
  return true;
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (const k of ka) {
    if (!Object.prototype.hasOwnProperty.call(b, k)) return false;
    if (!deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  }
  return true;
}
