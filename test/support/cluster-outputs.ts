/**
 * reflex's outputs on Kafka, read back and compared: events by CloudEvents id (binary mode: the
 * `ce_id` header), change records as each key's sequence on its `*.changelog` topic. Comparisons
 * return readable differences (empty when equal), so a failure says what differs and where.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Truth } from './shop-workload.js';
import type { TopicMessage } from './topic-reader.js';

export interface OutputEvent {
  stream: string;
  key: string | null;
  headers: Record<string, string>;
  data: unknown;
  at: string;
}

export interface Outputs {
  /** Every event message by ce_id (more than one when it was written more than once). */
  events: Map<string, OutputEvent[]>;
  /** `<stream> <key>` → the key's change records in topic order; a tombstone is null. */
  changes: Map<string, Array<Record<string, unknown> | null>>;
}

export function outputsOf(messages: TopicMessage[], prefix: string): Outputs {
  const events = new Map<string, OutputEvent[]>();
  const changes = new Map<string, Array<Record<string, unknown> | null>>();
  const sorted = [...messages].sort((a, b) => (a.topic !== b.topic ? (a.topic < b.topic ? -1 : 1) : a.partition - b.partition || a.offset - b.offset));
  for (const m of sorted) {
    const stream = m.topic.slice(prefix.length + 1);
    const at = `${m.topic}[${m.partition}]@${m.offset}`;
    if (stream.endsWith('.changelog')) {
      const id = `${stream} ${m.key}`;
      changes.set(id, [...(changes.get(id) ?? []), m.value === null ? null : (JSON.parse(m.value) as Record<string, unknown>)]);
      continue;
    }
    const id = m.headers.ce_id;
    if (!id) throw new Error(`${at}: an event without a ce_id header`);
    const event = { stream, key: m.key, headers: m.headers, data: m.value === null ? null : (JSON.parse(m.value) as unknown), at };
    events.set(id, [...(events.get(id) ?? []), event]);
  }
  return { events, changes };
}

const count = (o: Outputs) => ({ events: o.events.size, changeKeys: o.changes.size, changes: [...o.changes.values()].reduce((s, c) => s + c.length, 0) });

/** Events: each once, each equal to the expected one with its id, none missing, none extra. */
export function eventDifferences(expected: Outputs, actual: Outputs, limit = 15): string[] {
  const out: string[] = [];
  for (const [id, got] of actual.events) {
    const want = expected.events.get(id)?.[0];
    if (got.length > 1) out.push(`event ${id} (${got[0]!.stream} ${got[0]!.key}) written ${got.length} times: ${got.map((g) => g.at).join(', ')}`);
    if (!want) out.push(`event ${id} (${got[0]!.stream} ${got[0]!.key}, request ${got[0]!.headers.ce_reflexrequestid}) not in the reference`);
    else if (!isDeepStrictEqual({ ...got[0]!, at: '' }, { ...want, at: '' })) out.push(`event ${id} differs: got ${JSON.stringify({ ...got[0]!, at: undefined })}, expected ${JSON.stringify({ ...want, at: undefined })}`);
  }
  for (const [id, want] of expected.events) {
    if (!actual.events.has(id)) out.push(`event ${id} (${want[0]!.stream} ${want[0]!.key}, request ${want[0]!.headers.ce_reflexrequestid}) missing`);
  }
  return summarize(out, limit, expected, actual);
}

/** Change records: each key's sequence equal to the expected one (the per-key order kept). */
export function changeDifferences(expected: Outputs, actual: Outputs, limit = 15): string[] {
  const out: string[] = [];
  const label = (c: Record<string, unknown> | null) => (c === null ? 'tombstone' : `${String(c.op)}@${String(c.ts_ms)}`);
  for (const id of new Set([...expected.changes.keys(), ...actual.changes.keys()])) {
    const want = expected.changes.get(id) ?? [];
    const got = actual.changes.get(id) ?? [];
    if (isDeepStrictEqual(want, got)) continue;
    const i = want.findIndex((w, n) => !isDeepStrictEqual(w, got[n]));
    const at = i === -1 ? want.length : i;
    out.push(`${id}: ${got.length} change records, expected ${want.length}; first difference at #${at}: got ${JSON.stringify(got[at] ?? 'nothing')}, expected ${JSON.stringify(want[at] ?? 'nothing')} (got ${got.map(label).join(' ')}; expected ${want.map(label).join(' ')})`);
  }
  return summarize(out, limit, expected, actual);
}

/** Each key's state after its last change record (`after`; null once deleted) against the backend's truth. */
export function stateDifferences(truth: Truth, actual: Outputs, limit = 15): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const [id, records] of actual.changes) {
    const [stream, key] = id.split(' ') as [string, string];
    seen.add(key);
    const last = records.at(-1);
    const state = last === null || last === undefined || last.op === 'd' ? null : last.after;
    const expected = truth.get(key);
    if (!expected) out.push(`${stream} ${key}: change records for a key the backend never had`);
    else if (`${expected.resource}.changelog` !== stream) out.push(`${key}: change records on ${stream}, expected ${expected.resource}.changelog`);
    else if (!isDeepStrictEqual(state, expected.state)) out.push(`${stream} ${key}: state ${JSON.stringify(state)}, backend has ${JSON.stringify(expected.state)} (last record ${JSON.stringify(last)})`);
  }
  for (const [key, t] of truth) if (!seen.has(key)) out.push(`${t.resource} ${key}: no change record, backend has ${JSON.stringify(t.state)}`);
  return summarize(out, limit);
}

/**
 * Every event the reference made for an acknowledged request appears exactly once. `expected` is
 * the reference run: which events each request makes.
 */
export function acknowledgedDifferences(expected: Outputs, actual: Outputs, acknowledged: Set<string>, limit = 15): string[] {
  const out: string[] = [];
  let checked = 0;
  for (const [id, want] of expected.events) {
    const request = want[0]!.headers.ce_reflexrequestid!;
    if (!acknowledged.has(request)) continue;
    checked++;
    const n = actual.events.get(id)?.length ?? 0;
    if (n !== 1) out.push(`event ${id} of acknowledged request ${request} (${want[0]!.stream} ${want[0]!.key}) appears ${n} times`);
  }
  if (checked === 0) out.push('no event of an acknowledged request to check');
  return summarize(out, limit);
}

function summarize(out: string[], limit: number, expected?: Outputs, actual?: Outputs): string[] {
  if (out.length === 0) return out;
  const head = out.slice(0, limit);
  if (out.length > limit) head.push(`… and ${out.length - limit} more`);
  if (expected && actual) head.push(`(expected ${JSON.stringify(count(expected))}, got ${JSON.stringify(count(actual))})`);
  return head;
}
