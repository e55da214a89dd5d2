import { applyPatch, type Operation } from 'rfc6902';
import mergePatch from 'json-merge-patch';
import type { ChangeRecord } from '../model/records.js';
import { escapePointerToken } from '../model/json-pointer.js';
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
    };
  }

  let after: unknown;
  if (intent.patch) {
    if (!live) return { kind: 'skipped', reason: `a ${intent.patch.format} patch without a response body, and no known state of ${intent.resource}/${intent.key} to apply it to` };
    const patched = applyIntentPatch(before, intent.patch);
    if ('error' in patched) return { kind: 'skipped', reason: patched.error };
    after = patched.value;
  } else {
    after = intent.after ?? null;
  }

  const op = intent.op === 'c' && live ? 'u' : intent.op;
  const changed = changedPointers(before, after);
  if (live && changed.length === 0) {
    return { kind: 'apply', state: { ...live, ...clock }, record: null };
  }
  return {
    kind: 'apply',
    state: { state: after, deleted: false, version, ...clock },
    record: record(intent, op, before, after, changed),
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
  const out: string[] = [];
  diffInto(before, after, '', out);
  return out.sort();
}

function diffInto(a: unknown, b: unknown, pointer: string, out: string[]): void {
  if (Object.is(a, b)) return;
  const containers = a !== null && b !== null && typeof a === 'object' && typeof b === 'object' && Array.isArray(a) === Array.isArray(b);
  if (!containers) {
    if (!deepEqual(a, b)) out.push(pointer);
    return;
  }
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    const n = Math.max(a.length, bb.length);
    for (let i = 0; i < n; i++) {
      if (i >= a.length || i >= bb.length) out.push(`${pointer}/${i}`);
      else diffInto(a[i], bb[i], `${pointer}/${i}`, out);
    }
    return;
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  for (const k in ao) {
    const p = `${pointer}/${escapePointerToken(k)}`;
    if (!Object.prototype.hasOwnProperty.call(bo, k)) out.push(p);
    else diffInto(ao[k], bo[k], p, out);
  }
  for (const k in bo) if (!Object.prototype.hasOwnProperty.call(ao, k)) out.push(`${pointer}/${escapePointerToken(k)}`);
}

function applyIntentPatch(base: unknown, patch: NonNullable<CdcIntent['patch']>): { value: unknown } | { error: string } {
  const target = structuredClone(base);
  if (patch.format === 'merge') return { value: mergePatch.apply(target, structuredClone(patch.document)) };
  if (!Array.isArray(patch.document)) return { error: 'a JSON Patch (application/json-patch+json) body must be an array of operations' };
  // rfc6902 applies operations in place and does not roll back: work on a copy, keep it only if all succeed.
  const results = applyPatch(target as object, structuredClone(patch.document) as Operation[]);
  const failed = results.findIndex((r) => r !== null);
  if (failed !== -1) return { error: `JSON Patch operation ${failed} failed: ${results[failed]!.message}` };
  return { value: target };
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
