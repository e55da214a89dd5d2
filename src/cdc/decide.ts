import { applyPatch, type Operation } from 'rfc6902';
import type { ChangeRecord } from '../model/records.js';
import { MAX_JSON_DEPTH, deeperThan, setOwn } from '../model/json-depth.js';
import { parsePointer, toPointer } from '../model/json-pointer.js';
import { diffStates } from './diff.js';
import type { CdcDecision, CdcIntent, ResourceState } from './types.js';

/**
 * Debezium-style semantics for one intent against the stored state of its key (pure; the store
 * runs it inside the transaction that writes the result):
 * - an intent not newer than the stored state (by request time, then request id) is late;
 * - c/u/r: `before` is the stored state (null when unknown or deleted), `after` the new state;
 *   nothing changed, nothing emitted (but the key's clock advances, so an older log can never
 *   roll it back); a create of a live key is an update;
 * - d: `after` is null and the key becomes a tombstone; a later create starts from `before: null`.
 */
export function decide(intent: CdcIntent, current: ResourceState | null): CdcDecision {
  if (current && !isNewer(intent, current)) return { kind: 'late' };
  const live = current && !current.deleted ? current : null;
  const before = live ? live.state : null;
  const version = (current?.version ?? 0) + 1;
  const clock = { timeMs: intent.timeMs, requestId: intent.requestId };

  if (intent.op === 'd') {
    // Deleting what is already deleted changes nothing; only the key's clock moves.
    if (current?.deleted) return { kind: 'apply', state: { ...current, ...clock }, record: null };
    return {
      kind: 'apply',
      state: { state: null, deleted: true, version, ...clock },
      record: record(intent, 'd', before, null, changedPointers(before, null)),
      restore: null,
    };
  }

  let after: unknown;
  if (intent.patch) {
    if (!live) return { kind: 'skipped', reason: `a ${intent.patch.format} patch without a response body, and no known state of ${intent.resource}/${intent.key} to apply it to` };
    let patched: { value: unknown } | { error: string };
    try {
      patched = applyIntentPatch(before, intent.patch);
    } catch (err) {
      // Runs inside the store's transaction: a throw here would cost the whole batch.
      patched = { error: `the ${intent.patch.format} patch could not be applied: ${(err as Error)?.message ?? String(err)}` };
    }
    if ('error' in patched) return { kind: 'skipped', reason: patched.error };
    if (deeperThan(patched.value, MAX_JSON_DEPTH)) {
      return { kind: 'skipped', reason: `the patched state of ${intent.resource}/${intent.key} would be nested deeper than ${MAX_JSON_DEPTH} levels` };
    }
    after = patched.value;
  } else {
    after = intent.after ?? null;
  }

  const op = intent.op === 'c' && live ? 'u' : intent.op;
  const { changed, restore } = diffStates(before, after);
  if (live && changed.length === 0) {
    return { kind: 'apply', state: { ...live, ...clock }, record: null };
  }
  return {
    kind: 'apply',
    state: { state: after, deleted: false, version, ...clock },
    record: record(intent, op, before, after, changed),
    restore,
  };
}

export function isNewer(intent: CdcIntent, current: ResourceState): boolean {
  if (intent.timeMs !== current.timeMs) return intent.timeMs > current.timeMs;
  return intent.requestId > current.requestId;
}

function record(intent: CdcIntent, op: ChangeRecord['op'], before: unknown, after: unknown, changed: string[]): ChangeRecord {
  return {
    op,
    key: intent.key,
    before,
    after,
    changed,
    ts_ms: intent.timeMs,
    source: intent.source,
  };
}

/**
 * JSON pointers of the values that differ, compared position by position (object members by name,
 * array items by index); `""` when the two are not both objects or both arrays.
 */
export function changedPointers(before: unknown, after: unknown): string[] {
  return diffStates(before, after).changed;
}

/**
 * Every key of the state and of the patch is data, `__proto__`, `constructor` and `prototype`
 * included: the merge patch is RFC 7396's algorithm over own properties (json-merge-patch stops at
 * such keys), and rfc6902, which skips those pointer tokens, sees them renamed and on objects
 * without a prototype (so no inherited `toString` exists either).
 */
function applyIntentPatch(base: unknown, patch: NonNullable<CdcIntent['patch']>): { value: unknown } | { error: string } {
  if (patch.format === 'merge') return { value: mergeApply(structuredClone(base), structuredClone(patch.document)) };
  if (!Array.isArray(patch.document)) return { error: 'a JSON Patch (application/json-patch+json) body must be an array of operations' };
  // rfc6902 applies operations in place and does not roll back: work on a copy, keep it only if all succeed.
  const target = escapeKeys(base);
  const results = applyPatch(target as object, (patch.document as unknown[]).map(escapeOperation) as Operation[]);
  const failed = results.findIndex((r) => r !== null);
  if (failed !== -1) return { error: `JSON Patch operation ${failed} failed: ${results[failed]!.message}` };
  return { value: unescapeKeys(target) };
}

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const own = (o: Obj, k: string) => Object.prototype.hasOwnProperty.call(o, k);

/** RFC 7396 section 2, on copies the caller owns. */
function mergeApply(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const out: Obj = isObject(target) ? target : {};
  for (const key of Object.keys(patch)) {
    const value = patch[key];
    if (value === null) delete out[key];
    else setOwn(out, key, mergeApply(own(out, key) ? out[key] : undefined, value));
  }
  return out;
}

/** A leading NUL marks a renamed key; keys that start with one are marked too, so the renaming is reversible. */
const MARK = '\u0000';
const escapeKey = (k: string) => (k === '__proto__' || k === 'constructor' || k === 'prototype' || k.startsWith(MARK) ? MARK + k : k);

function escapeKeys(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(escapeKeys);
  const out = Object.create(null) as Obj;
  for (const k of Object.keys(value)) out[escapeKey(k)] = escapeKeys((value as Obj)[k]);
  return out;
}

function unescapeKeys(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(unescapeKeys);
  const out: Obj = {};
  for (const k of Object.keys(value)) setOwn(out, k.startsWith(MARK) ? k.slice(1) : k, unescapeKeys((value as Obj)[k]));
  return out;
}

function escapeOperation(op: unknown): unknown {
  if (!isObject(op)) return op;
  const out: Obj = { ...op };
  for (const field of ['path', 'from']) {
    const p = op[field];
    if (typeof p !== 'string' || (p !== '' && !p.startsWith('/'))) continue;
    try {
      out[field] = toPointer(parsePointer(p).map(escapeKey));
    } catch {
      // Not a pointer: rfc6902 reports it.
    }
  }
  if (own(op, 'value')) out.value = escapeKeys(op.value);
  return out;
}
