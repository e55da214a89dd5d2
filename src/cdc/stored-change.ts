import type { ChangeRecord } from '../model/records.js';
import { setOwn } from '../model/json-depth.js';
import { parsePointer } from '../model/json-pointer.js';
import type { Restore } from './diff.js';

/**
 * How a change record is stored: its `before` is the previous `after` of the same key, so it is not
 * stored again. A stored record has no `key` (the row has it) and, instead of `before`, the old
 * values at its `changed` pointers (`restore`: `[pointer]` when the pointer was absent before,
 * `[pointer, old value]` otherwise). Where that could not rebuild `before` exactly (a member that
 * was removed would come back last; a whole value replaced), `before` is stored whole. Rows written
 * before this format (with `key`) are full records and are read as they are.
 */
interface StoredChange {
  op: ChangeRecord['op'];
  before?: unknown;
  restore?: Restore;
  after: unknown;
  changed: string[];
  ts_ms: number;
  source: ChangeRecord['source'];
}

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const own = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k);

/**
 * The text stored for `record`; `afterJson` is `JSON.stringify(record.after)`, made once by the
 * caller, `known` the restore diffStates() found with `record.changed` (else it is worked out here).
 */
export function storedChangeText(record: ChangeRecord, afterJson: string, known?: Restore | null): string {
  let beforePart = '';
  if (record.before !== null && record.before !== undefined) {
    const restore = known !== undefined ? known
      : record.after === null || !orderKept(record.before, record.after) ? null : restoreOf(record.before, record.after, record.changed);
    beforePart = restore ? `,"restore":${JSON.stringify(restore)}` : `,"before":${JSON.stringify(record.before)}`;
  }
  return `{"op":${JSON.stringify(record.op)}${beforePart},"after":${afterJson},"changed":${JSON.stringify(record.changed)},"ts_ms":${JSON.stringify(record.ts_ms)},"source":${JSON.stringify(record.source)}}`;
}

/** The full change record of a stored row (either format), as JSON.parse gave it. */
export function changeFromStored(key: string | null, stored: unknown): unknown {
  if (!isObject(stored) || own(stored, 'key')) return stored;
  const s = stored as unknown as StoredChange;
  let before: unknown = null;
  if (own(s, 'before')) before = s.before;
  else if (s.restore) before = rebuild(s.after, s.restore);
  return { op: s.op, key, before, after: s.after, changed: s.changed, ts_ms: s.ts_ms, source: s.source };
}

/**
 * Whether rebuilding `before` from `after` keeps its members' order: in every object both have,
 * `before`'s members are all in `after`, in the same order (`after` may have more: those are
 * removed). A member put back would come last, and states equal but for the order of their
 * members have no change to tell it.
 */
function orderKept(b: unknown, a: unknown): boolean {
  if (b === null || a === null || typeof b !== 'object' || typeof a !== 'object' || Array.isArray(b) !== Array.isArray(a)) return true;
  if (Array.isArray(b)) {
    const n = Math.min(b.length, (a as unknown[]).length);
    for (let i = 0; i < n; i++) if (!orderKept(b[i], (a as unknown[])[i])) return false;
    return true;
  }
  const ao = a as Obj;
  const after = Object.keys(ao);
  let j = 0;
  for (const k of Object.keys(b)) {
    while (j < after.length && (after[j] !== k || ao[k] === undefined)) j++;
    if (j === after.length) return false;
    if (!orderKept((b as Obj)[k], ao[k])) return false;
    j++;
  }
  return true;
}

/** The old values at `changed`, or null when `before` must be stored whole (a pointer to the whole value). */
function restoreOf(before: unknown, after: unknown, changed: string[]): Restore | null {
  const out: Restore = [];
  for (const pointer of changed) {
    if (pointer === '') return null;
    const tokens = parsePointer(pointer);
    let b: unknown = before;
    let a: unknown = after;
    let bHas = true;
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i]!;
      const last = i === tokens.length - 1;
      const aHas = a !== null && typeof a === 'object' && own(a, t) && (a as Obj)[t] !== undefined;
      bHas = bHas && b !== null && typeof b === 'object' && own(b, t);
      if (!last && !(aHas && bHas)) return null;
      b = bHas ? (b as Obj)[t] : undefined;
      a = aHas ? (a as Obj)[t] : undefined;
    }
    // `undefined` (a member JSON leaves out) is as absent as a missing one.
    out.push(bHas && b !== undefined ? [pointer, b] : [pointer]);
  }
  return out;
}

/**
 * `before` from `after` and the old values: containers on the way to each pointer are copied (the
 * rest is shared with `after`), arrays that grew are cut back, values are put back.
 */
function rebuild(after: unknown, restore: Restore): unknown {
  const root: { v: unknown } = { v: after };
  const copied = new Set<object>();
  const copy = (parent: Obj | unknown[], t: string): unknown => {
    const child = (parent as Obj)[t];
    if (child === null || typeof child !== 'object' || copied.has(child)) return child;
    const c = Array.isArray(child) ? child.slice() : { ...(child as Obj) };
    copied.add(c);
    if (Array.isArray(parent)) parent[Number(t)] = c;
    else setOwn(parent, t, c);
    return c;
  };
  copy(root as unknown as Obj, 'v');
  for (const entry of restore) {
    const tokens = parsePointer(entry[0]);
    let node = root.v as Obj | unknown[];
    for (let i = 0; i < tokens.length - 1; i++) node = copy(node, tokens[i]!) as Obj | unknown[];
    const t = tokens.at(-1)!;
    if (Array.isArray(node)) {
      const index = Number(t);
      if (entry.length === 1) node.length = Math.min(node.length, index);
      else node[index] = entry[1];
    } else if (entry.length === 1) {
      delete node[t];
    } else {
      setOwn(node, t, entry[1]);
    }
  }
  return root.v;
}

/**
 * The full change record's JSON text of a stored row (either format): what JSON.stringify(read()'s
 * value) gives, for sinks that send the text on. Only a row with `restore` is parsed.
 */
export function changeJsonFromStored(key: string | null, text: string): string {
  // Rows are written by storedChangeText: `{"op":"u",` then `"restore"`, `"before"` or `"after"`.
  if (!text.startsWith('{"op":"') || text.charCodeAt(9) !== 44 /* , */) return text;
  const rest = text.slice(10);
  const head = `${text.slice(0, 10)}"key":${JSON.stringify(key)},`;
  if (rest.startsWith('"after":')) return `${head}"before":null,${rest}`;
  if (rest.startsWith('"before":')) return head + rest;
  if (rest.startsWith('"restore":')) return JSON.stringify(changeFromStored(key, JSON.parse(text)));
  return text;
}
