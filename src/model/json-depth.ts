/**
 * Nesting depth of parsed JSON. V8's JSON.parse is iterative and takes any depth, but everything that
 * walks a value afterwards (JSON.stringify, structuredClone, String(array), the rule engines, our own
 * walks) recurses and overflows the stack a few thousand levels down. So log data is bounded where it
 * is read (`limits.jsonDepth`): a body deeper than that is kept as text, and every later walk can
 * recurse safely.
 */

/** Far beyond any real API payload, far below where a recursive walk overflows the stack. */
export const DEFAULT_JSON_DEPTH = 256;
/** The most `limits.jsonDepth` may be: deeper walks do not fit the stack reliably. */
export const MAX_JSON_DEPTH = 1000;

/**
 * Path of the first array or object nested deeper than `max` levels (`[]` and `[1]` are one level,
 * `[[]]` two), or null. Recursion stops at `max + 1` levels, so this never overflows itself.
 */
export function deeperThan(value: unknown, max: number): Array<string | number> | null {
  if (value === null || typeof value !== 'object') return null;
  const path: Array<string | number> = [];
  return walk(value, max, path) ? path : null;
}

function walk(node: object, remaining: number, path: Array<string | number>): boolean {
  if (remaining <= 0) return true;
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) {
      const v: unknown = node[i];
      if (v === null || typeof v !== 'object') continue;
      path.push(i);
      if (walk(v, remaining - 1, path)) return true;
      path.pop();
    }
    return false;
  }
  const obj = node as Record<string, unknown>;
  for (const k in obj) {
    const v = obj[k];
    if (v === null || typeof v !== 'object') continue;
    path.push(k);
    if (walk(v, remaining - 1, path)) return true;
    path.pop();
  }
  return false;
}

/** A copy with every container below `max` levels replaced by a note: what a dead letter can keep. */
export function truncateDepth(value: unknown, max: number): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (max <= 0) return '[nested deeper than the limit, not kept]';
  if (Array.isArray(value)) return value.map((v) => truncateDepth(v, max - 1));
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(value)) setOwn(out, k, truncateDepth((value as Record<string, unknown>)[k], max - 1));
  return out;
}

/**
 * JSON.stringify without recursion, for values too deep for it (a body beyond the limit is kept as
 * this text). Plain JSON data only, as JSON.parse makes it: no toJSON, no replacer.
 */
export function stringifyDeep(value: unknown): string {
  let out = '';
  type Frame = { node: unknown[]; i: number; keys: null } | { node: Record<string, unknown>; i: number; keys: string[] };
  const stack: Frame[] = [];
  let next: unknown = value;
  let pending = true;
  for (;;) {
    if (pending) {
      pending = false;
      const v = next;
      if (v !== null && typeof v === 'object') {
        if (Array.isArray(v)) {
          out += '[';
          stack.push({ node: v, i: 0, keys: null });
        } else {
          out += '{';
          const obj = v as Record<string, unknown>;
          stack.push({ node: obj, i: 0, keys: Object.keys(obj).filter((k) => scalarText(obj[k]) !== undefined || (obj[k] !== null && typeof obj[k] === 'object')) });
        }
      } else {
        out += scalarText(v) ?? 'null';
      }
    }
    const top = stack[stack.length - 1];
    if (!top) return out;
    if (top.keys === null) {
      if (top.i < top.node.length) {
        if (top.i > 0) out += ',';
        next = top.node[top.i++];
        // Inside arrays, what JSON cannot say becomes null (as JSON.stringify does).
        if (next !== null && typeof next === 'object') pending = true;
        else out += scalarText(next) ?? 'null';
        continue;
      }
      out += ']';
    } else {
      if (top.i < top.keys.length) {
        const k = top.keys[top.i];
        if (top.i > 0) out += ',';
        top.i++;
        out += JSON.stringify(k) + ':';
        next = top.node[k!];
        pending = true;
        continue;
      }
      out += '}';
    }
    stack.pop();
  }
}

function scalarText(v: unknown): string | undefined {
  switch (typeof v) {
    case 'string': return JSON.stringify(v);
    case 'number': return Number.isFinite(v) ? String(v) : 'null';
    case 'boolean': return v ? 'true' : 'false';
    case 'bigint': return String(v);
    case 'object': return v === null ? 'null' : undefined;
    default: return undefined;
  }
}

/** `obj[key] = value` that keeps `__proto__` as data (an own property) instead of changing the prototype. */
export function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}
