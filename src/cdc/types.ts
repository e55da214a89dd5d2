import type { ChangeOp, ChangeRecord } from '../model/records.js';
import type { Restore } from './diff.js';

/** Pending intents past which ingest is refused by default (`cdc.maxPending`: about 4 s of 50k changes/s). */
export const DEFAULT_MAX_PENDING = 200_000;

/**
 * What one exchange means for one resource key, decided on the hot path and applied later, in
 * request-time order, by the CDC applier (so logs that arrive out of order within the reorder
 * window still change state in the order they happened).
 */
export interface CdcIntent {
  resource: string;
  key: string;
  op: ChangeOp;
  /** Request time in ms: the order in which intents of a key apply. */
  timeMs: number;
  /** Breaks ties of equal times, so every replica decides the same way. */
  requestId: string;
  /** The new state, when the exchange tells it (response body, `state` expression, PUT body). */
  after?: unknown;
  /** A PATCH without a response body: applied to the stored state. */
  patch?: { format: 'merge' | 'json-patch'; document: unknown };
  source: ChangeRecord['source'];
}

/** The stored state of one resource key. A deleted key keeps its row (a tombstone) for ordering. */
export interface ResourceState {
  state: unknown;
  deleted: boolean;
  version: number;
  timeMs: number;
  requestId: string;
}

export type CdcDecision =
  /** Older than the stored state: never rolls it back. */
  | { kind: 'late' }
  /** Cannot be applied (e.g. a patch to a state never seen); counted with the reason. */
  | { kind: 'skipped'; reason: string }
  /**
   * New state (or a tombstone), and the change record, unless nothing changed. `restore`: how the
   * record is stored without its `before` (src/cdc/diff.ts), when the decision found it.
   */
  | { kind: 'apply'; state: ResourceState; record: ChangeRecord | null; restore?: Restore | null };
