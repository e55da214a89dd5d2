import type { CdcIntent } from '../cdc/types.js';
import type { EntryOutcome, IntentText, PendingRecord } from '../store/types.js';
import type { BucketSnapshot } from '../metrics/bucket-counts.js';

/**
 * A payload decoded and processed on an ingest worker: what each entry makes, in payload order,
 * ready to be deduplicated and committed by the one thread that writes the store. Each outcome's
 * `requestKey` is the entry's dedupe key.
 */
export interface PreparedBatch {
  /** Entries the payload held. */
  received: number;
  outcomes: EntryOutcome[];
  /** How long the rules of its exchanges took, counted where they ran (reflex_rule_evaluation_seconds). */
  ruleTimes?: BucketSnapshot;
}

/**
 * A worker's answer as it crosses to the main thread: JSON text when the batch has it (a string is
 * copied in one piece and JSON.parse is about twice as fast as the structured clone's deserializer,
 * on the thread that writes the store: 5.4 against 2.7 µs per entry), else the objects themselves.
 * JSON is what the store writes of them anyway; a value it refuses (a BigInt, a cycle) keeps the
 * clone, and the main thread then makes that entry a dead letter as it does without workers.
 *
 * The texts the store writes as they are (each event's JSON, each CDC intent's JSON) travel beside
 * the rest in `texts`, one after another, each outcome saying how long its own are: inside `json`
 * each would be a JSON string, escaped by one thread and unescaped by the other, and the intent
 * parsed into objects only to be stringified again for the pending journal.
 */
export type WirePrepared = { json: string; texts: string } | { prepared: PreparedBatch };

/** A record on the wire: its JSON text is the next `length` characters of `texts`. */
interface WireRecord { stream: string; key: string | null; length: number; type?: string }
/** An intent on the wire: what orders it, its text the next `length` characters of `texts`. */
interface WireIntent { resource: string; key: string; timeMs: number; requestId: string; length: number }
type WireOutcome = Omit<EntryOutcome, 'records' | 'cdc'> & { records: Array<WireRecord | PendingRecord>; cdc?: WireIntent };

export function toWirePrepared(prepared: PreparedBatch): WirePrepared {
  let texts = '';
  const outcomes: WireOutcome[] = [];
  try {
    for (const o of prepared.outcomes) {
      const records = o.records.map((r): WireRecord | PendingRecord => {
        if (r.json === undefined) return r;
        texts += r.json;
        return r.type === undefined ? { stream: r.stream, key: r.key, length: r.json.length } : { stream: r.stream, key: r.key, length: r.json.length, type: r.type };
      });
      let cdc: WireIntent | undefined;
      if (o.cdc) {
        const i = o.cdc as CdcIntent;
        const text = JSON.stringify(i);
        texts += text;
        cdc = { resource: i.resource, key: i.key, timeMs: i.timeMs, requestId: i.requestId, length: text.length };
      }
      const { cdc: _intent, ...rest } = o;
      outcomes.push(cdc ? { ...rest, records, cdc } : { ...rest, records });
    }
    return { json: JSON.stringify({ received: prepared.received, outcomes, ...(prepared.ruleTimes ? { ruleTimes: prepared.ruleTimes } : {}) }), texts };
  } catch {
    return { prepared };
  }
}

export function fromWirePrepared(wire: WirePrepared): PreparedBatch {
  if (!('json' in wire)) return wire.prepared;
  const batch = JSON.parse(wire.json) as { received: number; outcomes: WireOutcome[]; ruleTimes?: BucketSnapshot };
  const texts = wire.texts;
  let at = 0;
  for (const o of batch.outcomes) {
    const records = o.records;
    for (let i = 0; i < records.length; i++) {
      const r = records[i]!;
      if (!('length' in r)) continue;
      const json = texts.slice(at, (at += r.length));
      // `value` stays undefined: the store writes the text (a getter parsing it would run for every append).
      records[i] = r.type === undefined ? { stream: r.stream, key: r.key, value: undefined, json } : { stream: r.stream, key: r.key, value: undefined, json, type: r.type };
    }
    const w = o.cdc;
    if (w) {
      const intent: IntentText = { resource: w.resource, key: w.key, timeMs: w.timeMs, requestId: w.requestId, text: texts.slice(at, (at += w.length)) };
      (o as EntryOutcome).cdc = intent;
    }
  }
  return batch as PreparedBatch;
}
