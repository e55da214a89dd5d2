import { decide } from '../cdc/decide.js';
import { PendingQueue, type PendingEntry } from '../cdc/pending-queue.js';
import type { CdcIntent, ResourceState } from '../cdc/types.js';
import type { Logger } from '../logger.js';
import type { Exchange } from '../model/exchange.js';
import type { ChangeRecord } from '../model/records.js';
import type { RuleLimits } from '../rules/budget.js';
import type { CompiledSpecSet } from '../spec/types.js';
import type { EntryOutcome, PendingRecord } from '../store/types.js';
import { internalFailure, toEntry } from '../pipeline/entry-outcome.js';
import { dedupeKeyOf } from '../pipeline/ingest.js';
import { processExchange, type Outcome } from '../pipeline/process.js';

/** One exchange read from the exchanges topic. */
export interface PartitionInput {
  offset: number;
  requestKey: string;
  source: string;
  retry: boolean;
  exchange: Exchange;
}

/** A record of the partition's state topic: its key, and its value (null: a tombstone). */
export interface StateWrite {
  key: string;
  value: string | null;
}

export interface ChangeOutput {
  /** `<resource>.changelog` */
  stream: string;
  key: string;
  record: ChangeRecord;
}

/** What one step of a partition writes, all in one Kafka transaction. */
export interface PartitionOutput {
  events: PendingRecord[];
  changes: ChangeOutput[];
  state: StateWrite[];
  /** Dead letters and unmatched exchanges, kept in the owner's local store. */
  local: EntryOutcome[];
  duplicates: number;
  late: number;
  skipped: Array<{ intent: CdcIntent; reason: string }>;
}

export interface PartitionOptions {
  specs: CompiledSpecSet;
  rules: RuleLimits;
  dedupeWindowMs: number;
  reorderWindowMs: number;
  logger?: Logger;
}

/** State-topic key prefixes: a dedupe key, a resource key's state, a change waiting for its window. */
const DEDUPE = 'd|';
const STATE = 's|';
const PENDING = 'p|';
/** The next offset of the exchanges partition, in the transaction that wrote the state up to it. */
const OFFSET = 'o|';

interface PendingValue { receivedAt: number; intent: CdcIntent }

/**
 * The stateful half of one partition of the exchanges topic, in memory: the dedupe window, the
 * reorder window's pending changes and every resource key's state. Every change to them is also
 * returned as a state-topic write, which the owner commits in the transaction that writes the step's
 * outputs and its consumer offset; a new owner rebuilds this object from those writes (restore()).
 * If that transaction fails, this object is ahead of Kafka and must be thrown away.
 */
export class PartitionState {
  private readonly dedupe = new Map<string, number>();
  /** Each key's state as the JSON text of its state-topic record: parsed only when a change applies (a third of the memory of the objects, and a restore that parses nothing). */
  private readonly states = new Map<string, string>();
  private readonly pending = new PendingQueue();
  private readonly pendingIntents = new Map<PendingEntry, CdcIntent>();

  /** Newest request time of a change queued here, and when one last arrived (the reorder window's clock, as src/cdc/applier.ts keeps it). */
  private watermark = Number.NEGATIVE_INFINITY;
  private lastArrival = Number.NEGATIVE_INFINITY;
  /** Changes held this long are applied whatever the watermark says (as single-node mode's hold limit). */
  private readonly holdLimitMs: number;
  /** The next exchange offset, as the last committed step wrote it (null: no step wrote one yet). */
  restoredOffset: number | null = null;

  constructor(private readonly options: PartitionOptions) {
    this.holdLimitMs = Math.max(60_000, options.reorderWindowMs * 10);
  }

  /** The state write that records `next` as the partition's next exchange offset. */
  static offsetWrite(next: number): StateWrite {
    return { key: OFFSET, value: String(next) };
  }

  get keys(): number {
    return this.states.size;
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  /** Reads one state-topic record back (in topic order; a later record of a key replaces it). */
  restore(key: string, value: string | null): void {
    if (key.startsWith(DEDUPE)) {
      if (value === null) this.dedupe.delete(key.slice(2));
      else this.dedupe.set(key.slice(2), Number(value));
    } else if (key.startsWith(STATE)) {
      if (value === null) this.states.delete(key.slice(2));
      else this.states.set(key.slice(2), value);
    } else if (key.startsWith(PENDING)) {
      this.restored.set(key.slice(2), value);
    } else if (key === OFFSET && value !== null) {
      this.restoredOffset = Number(value);
    }
  }

  /** Pending changes read back, by offset; queued once the whole topic was read (a later tombstone removes one). */
  private readonly restored = new Map<string, string | null>();

  /**
   * Queues the restored pending changes. The window starts again from here: exchanges the last owner
   * had not committed come again, and may be older than some of these.
   */
  finishRestore(now = Date.now()): void {
    for (const [offset, value] of this.restored) {
      if (value === null) continue;
      const { receivedAt, intent } = JSON.parse(value) as PendingValue;
      this.queue(Number(offset), intent, receivedAt);
      if (intent.timeMs > this.watermark) this.watermark = intent.timeMs;
    }
    if (this.restored.size > 0) this.lastArrival = now;
    this.restored.clear();
  }

  /** Dedupe, rules and CDC for exchanges in offset order; then the changes whose window has passed. */
  async process(inputs: PartitionInput[], now: number): Promise<PartitionOutput> {
    const out = emptyOutput();
    const { specs, rules, dedupeWindowMs } = this.options;
    for (const input of inputs) {
      const dedupeKey = dedupeKeyOf(input.exchange, input.requestKey);
      if (dedupeWindowMs > 0 && !input.retry) {
        if (this.dedupe.has(dedupeKey)) {
          out.duplicates++;
          continue;
        }
        this.dedupe.set(dedupeKey, now);
        out.state.push({ key: DEDUPE + dedupeKey, value: String(now) });
      }
      const exchange = input.exchange;
      let outcome: Outcome;
      try {
        outcome = await processExchange(exchange, specs, input.requestKey, rules);
      } catch (err) {
        outcome = internalFailure(err);
      }
      if (outcome.kind !== 'records') {
        out.local.push(toEntry(outcome, exchange, input.requestKey, dedupeKey, input.source));
        continue;
      }
      for (const r of outcome.records) out.events.push(r);
      if (outcome.cdc) {
        const intent = outcome.cdc;
        out.state.push({ key: PENDING + String(input.offset), value: JSON.stringify({ receivedAt: now, intent } satisfies PendingValue) });
        this.queue(input.offset, intent, now);
        if (intent.timeMs > this.watermark) this.watermark = intent.timeMs;
        this.lastArrival = now;
      }
    }
    this.applyDue(now, out);
    return out;
  }

  /** The changes whose reorder window has passed, applied in request-time order; null when none are due. */
  due(now: number): PartitionOutput | null {
    const out = emptyOutput();
    this.applyDue(now, out);
    return out.state.length > 0 ? out : null;
  }

  /** Forgets dedupe keys older than the window; the tombstones go in the next transaction. */
  prune(now: number): StateWrite[] {
    const cutoff = now - this.options.dedupeWindowMs;
    const writes: StateWrite[] = [];
    for (const [key, at] of this.dedupe) {
      if (at >= cutoff) continue;
      this.dedupe.delete(key);
      writes.push({ key: DEDUPE + key, value: null });
    }
    return writes;
  }

  get(resource: string, key: string): ResourceState | null {
    const text = this.states.get(stateKey(resource, key));
    return text === undefined ? null : (JSON.parse(text) as ResourceState);
  }

  /** Live keys of `resource` after `after` in key order, at most `limit` (parsed only for the page). */
  list(resource: string, after: string, limit: number): Array<{ key: string } & ResourceState> {
    const prefix = stateKey(resource, '');
    const keys: string[] = [];
    for (const k of this.states.keys()) if (k.startsWith(prefix) && k.slice(prefix.length) > after) keys.push(k);
    keys.sort();
    const page: Array<{ key: string } & ResourceState> = [];
    for (const k of keys) {
      if (page.length >= limit) break;
      const state = JSON.parse(this.states.get(k)!) as ResourceState;
      if (!state.deleted) page.push({ key: k.slice(prefix.length), ...state });
    }
    return page;
  }

  /** Live and deleted keys, and changes waiting for their window, of each resource. */
  summary(names: readonly string[]): Array<{ name: string; keys: number; deleted: number; pending: number }> {
    const counts = new Map(names.map((name) => [name, { name, keys: 0, deleted: 0, pending: 0 }]));
    for (const [k, text] of this.states) {
      const c = counts.get(k.slice(0, k.indexOf('|')));
      if (!c) continue;
      if ((JSON.parse(text) as ResourceState).deleted) c.deleted++;
      else c.keys++;
    }
    for (const intent of this.pendingIntents.values()) {
      const c = counts.get(intent.resource);
      if (c) c.pending++;
    }
    return [...counts.values()];
  }

  private queue(offset: number, intent: CdcIntent, receivedAt: number): void {
    const batch = { seq: offset, receivedAt, entries: [] as PendingEntry[], live: 1 };
    const entry: PendingEntry = {
      seq: offset, timeMs: intent.timeMs, requestId: intent.requestId, receivedAt, resource: intent.resource,
      batch, index: 0, start: 0, end: 0, json: null, taken: false,
    };
    batch.entries.push(entry);
    this.pending.add(entry);
    this.pendingIntents.set(entry, intent);
  }

  /**
   * Due, as in single-node mode: a change a window older than the newest request time seen (or all of
   * them once nothing arrived for a window), received at least a window ago; and any held past the hold limit.
   */
  private applyDue(now: number, out: PartitionOutput): void {
    const window = this.options.reorderWindowMs;
    const timeBy = now - this.lastArrival >= window ? Number.MAX_SAFE_INTEGER : this.watermark - window;
    const receivedBy = now - window;
    const taken = this.pending.takeInOrder((e) => e.timeMs <= timeBy && e.receivedAt <= receivedBy, Number.MAX_SAFE_INTEGER);
    taken.push(...this.pending.takeReceivedBy(now - this.holdLimitMs, Number.MAX_SAFE_INTEGER));
    for (const entry of taken) {
      const intent = this.pendingIntents.get(entry)!;
      this.pendingIntents.delete(entry);
      out.state.push({ key: PENDING + String(entry.seq), value: null });
      const k = stateKey(intent.resource, intent.key);
      const stored = this.states.get(k);
      const decision = decide(intent, stored === undefined ? null : (JSON.parse(stored) as ResourceState));
      if (decision.kind === 'late') {
        out.late++;
        continue;
      }
      if (decision.kind === 'skipped') {
        out.skipped.push({ intent, reason: decision.reason });
        continue;
      }
      const text = JSON.stringify(decision.state);
      this.states.set(k, text);
      out.state.push({ key: STATE + k, value: text });
      if (decision.record) out.changes.push({ stream: `${intent.resource}.changelog`, key: intent.key, record: decision.record });
    }
  }
}

/** `<resource>|<key>`: resource names are identifiers, so the first `|` ends one. */
function stateKey(resource: string, key: string): string {
  return `${resource}|${key}`;
}

function emptyOutput(): PartitionOutput {
  return { events: [], changes: [], state: [], local: [], duplicates: 0, late: 0, skipped: [] };
}
