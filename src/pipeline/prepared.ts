import type { EntryOutcome } from '../store/types.js';

/**
 * A payload decoded and processed on an ingest worker: what each entry makes, in payload order,
 * ready to be deduplicated and committed by the one thread that writes the store. Each outcome's
 * `requestKey` is the entry's dedupe key.
 */
export interface PreparedBatch {
  /** Entries the payload held. */
  received: number;
  outcomes: EntryOutcome[];
}

/**
 * For the trip to the main thread: an event already serialized travels as its JSON text only (the
 * store writes that text; copying the object too would cost the main thread a second time). Its
 * `value` stays undefined there (a getter parsing the text would run for every append).
 */
export function toWire(outcomes: EntryOutcome[]): EntryOutcome[] {
  for (const o of outcomes) {
    o.records = o.records.map((r) => (r.json === undefined ? r : { stream: r.stream, key: r.key, value: undefined, json: r.json }));
  }
  return outcomes;
}
