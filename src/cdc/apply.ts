import { tallyChange, type BatchResult, type BatchWrite, type CdcApplyResult, type EventStore } from '../store/types.js';
import { decide as decideByDefault } from './decide.js';
import { storedChangeText } from './stored-change.js';
import type { CdcDecision, CdcIntent, ResourceState } from './types.js';

export type Decider = (intent: CdcIntent, current: ResourceState | null) => CdcDecision;

type CdcStore = Pick<EventStore, 'transaction' | 'commit' | 'cdc' | 'log'>;

/**
 * Applies intents in request-time order against their keys' states, inside the caller's
 * transaction: each is decided (src/cdc/decide.ts), then its state, counter and change record written.
 */
export function applyIntents(store: CdcStore, intents: CdcIntent[], result: CdcApplyResult, decide: Decider = decideByDefault): void {
  for (const intent of intents) {
    const decision = decide(intent, store.cdc.get(intent.resource, intent.key));
    result.applied++;
    if (decision.kind === 'late') {
      result.late++;
      tallyChange(result, intent.resource, 'late');
      store.cdc.count(intent.resource, 'late');
      continue;
    }
    if (decision.kind === 'skipped') {
      result.skipped.push({ intent, reason: decision.reason });
      tallyChange(result, intent.resource, 'skipped');
      store.cdc.count(intent.resource, 'skipped');
      continue;
    }
    if (!decision.record) {
      store.cdc.put(intent.resource, intent.key, decision.state);
    } else {
      // The state and the change record's `after` are the same JSON, made once.
      const afterJson = decision.record.after === null ? 'null' : JSON.stringify(decision.record.after);
      store.cdc.put(intent.resource, intent.key, decision.state, { json: afterJson, journaled: true });
      const stream = `${intent.resource}.changelog`;
      const offset = store.log.append(stream, intent.key, decision.record, storedChangeText(decision.record, afterJson, decision.restore));
      result.appended.set(stream, offset);
      result.committed?.push({ stream, offset, key: intent.key, value: decision.record });
      result.records++;
      tallyChange(result, intent.resource, decision.record.op);
    }
  }
  store.cdc.writeBehind();
}

/** Applies up to `limit` pending intents received at or before `cutoff` (ms), in one transaction. */
export function applyPending(
  store: CdcStore, cutoff: number, options: { limit?: number; collect?: boolean } = {}, decide: Decider = decideByDefault,
): CdcApplyResult {
  const result: CdcApplyResult = { applied: 0, records: 0, late: 0, skipped: [], appended: new Map(), ...(options.collect ? { committed: [] } : {}) };
  store.transaction(() => applyIntents(store, store.cdc.takeDue(cutoff, options.limit ?? 10_000), result, decide));
  return result;
}

/**
 * Applies, in request-time order, up to `limit` pending intents up to the first that is not due
 * (received after `receivedBy`, or of a request time after `timeBy`), in one transaction.
 */
export function applyPendingInOrder(
  store: CdcStore, timeBy: number, receivedBy: number, options: { limit?: number; collect?: boolean } = {}, decide: Decider = decideByDefault,
): CdcApplyResult {
  const result: CdcApplyResult = { applied: 0, records: 0, late: 0, skipped: [], appended: new Map(), ...(options.collect ? { committed: [] } : {}) };
  store.transaction(() => applyIntents(store, store.cdc.takeDueInOrder(timeBy, receivedBy, options.limit ?? 10_000), result, decide));
  return result;
}

/**
 * Commits a batch and applies its intents at once, in request-time order, in the same transaction
 * (no reorder window): the gateway's answer waits for the change records.
 */
export function commitApplying(store: CdcStore, batch: BatchWrite, decide: Decider = decideByDefault): BatchResult {
  return store.transaction(() => {
    const result = store.commit({ ...batch, returnCdc: true });
    const intents = result.intents!;
    delete result.intents;
    if (intents.length === 0) return result;
    intents.sort((a, b) => a.timeMs - b.timeMs || (a.requestId < b.requestId ? -1 : a.requestId > b.requestId ? 1 : 0));
    const cdc: CdcApplyResult = { applied: 0, records: 0, late: 0, skipped: [], appended: result.appended, ...(result.committed ? { committed: result.committed } : {}) };
    applyIntents(store, intents, cdc, decide);
    result.records += cdc.records;
    result.cdc = { records: cdc.records, late: cdc.late, skipped: cdc.skipped, ...(cdc.changes ? { changes: cdc.changes } : {}) };
    return result;
  });
}
