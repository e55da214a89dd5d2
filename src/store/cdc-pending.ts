import type Database from 'better-sqlite3';
import { PendingQueue, type PendingBatch, type PendingEntry } from '../cdc/pending-queue.js';
import type { CdcIntent } from '../cdc/types.js';
import type { IntentText } from './types.js';

interface BatchRow { seq: number; received_at: number; intents: string; taken: Buffer | null }

/**
 * Intents waiting for their reorder window, journaled in `cdc_pending_batches`: one row per batch
 * that arrived (its intents as one JSON array), written when the transaction that queued them
 * commits; the transaction that applies some of them (the one that writes their change records)
 * marks them in the row's `taken` bitmap, or deletes the row once all are, so a crash replays
 * exactly the intents not applied. One row per batch instead of an INSERT, a SELECT and a DELETE per
 * intent. In memory only their order is held (~250 B each measured, src/cdc/pending-queue.ts): an intent's
 * text (~600 B for an order) is read back from its row when it is taken.
 */
export class PendingIntents {
  private readonly stmt;
  private readonly queue = new PendingQueue();
  private lastBatchSeq = 0;
  private lastEntrySeq = 0;
  /** Batches the running transaction queued (not in the journal yet), by arrival time. */
  private adding = new Map<number, PendingBatch>();
  /** Batches of the journal the running transaction took intents from. */
  private touched = new Set<PendingBatch>();
  /** Committed pending intents per resource (GET /resources), and the running transaction's changes. */
  private readonly byResource = new Map<string, number>();
  private byResourceDelta = new Map<string, number>();
  private committedCount = 0;
  private delta = 0;

  constructor(private readonly db: Database.Database) {
    this.stmt = {
      all: db.prepare('SELECT seq, received_at, intents, taken FROM cdc_pending_batches ORDER BY seq'),
      text: db.prepare('SELECT intents FROM cdc_pending_batches WHERE seq = ?').pluck(),
      insert: db.prepare('INSERT INTO cdc_pending_batches(seq, received_at, intents, taken) VALUES (?, ?, ?, ?)'),
      rewrite: db.prepare('UPDATE cdc_pending_batches SET intents = ? WHERE seq = ?'),
      mark: db.prepare('UPDATE cdc_pending_batches SET taken = ? WHERE seq = ?'),
      remove: db.prepare('DELETE FROM cdc_pending_batches WHERE seq = ?'),
    };
    this.load();
  }

  /** Committed intents plus the running transaction's changes. */
  get count(): number {
    return this.committedCount + this.delta;
  }

  /** Committed intents per resource. */
  get perResource(): ReadonlyMap<string, number> {
    return this.byResource;
  }

  add(intent: CdcIntent | IntentText, receivedAt: number): void {
    let batch = this.adding.get(receivedAt);
    if (!batch) this.adding.set(receivedAt, (batch = { seq: ++this.lastBatchSeq, receivedAt, entries: [], live: 0 }));
    this.enter(batch, intent, 'text' in intent ? intent.text : JSON.stringify(intent));
    this.delta++;
    bump(this.byResourceDelta, intent.resource, 1);
    if (!this.db.inTransaction) this.commitNow();
  }

  /** In apply order, up to the first intent not due (received after `receivedBy` or of a request time after `timeBy`). */
  takeInOrder(timeBy: number, receivedBy: number, limit: number): CdcIntent[] {
    return this.taken(this.queue.takeInOrder((e) => e.timeMs <= timeBy && e.receivedAt <= receivedBy, limit));
  }

  /** In apply order, up to `limit` intents received at or before `cutoff`. */
  takeReceivedBy(cutoff: number, limit: number): CdcIntent[] {
    return this.taken(this.queue.takeReceivedBy(cutoff, limit));
  }

  private taken(entries: PendingEntry[]): CdcIntent[] {
    const out = new Array<CdcIntent>(entries.length);
    // Each journal row read once per call.
    const texts = new Map<PendingBatch, string>();
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      let json = e.json;
      if (json === null) {
        let text = texts.get(e.batch);
        if (text === undefined) texts.set(e.batch, (text = this.stmt.text.get(e.batch.seq) as string));
        json = text.slice(e.start, e.end);
        this.touched.add(e.batch);
      }
      this.delta--;
      bump(this.byResourceDelta, e.resource, -1);
      out[i] = JSON.parse(json) as CdcIntent;
    }
    if (entries.length > 0 && !this.db.inTransaction) this.commitNow();
    return out;
  }

  /** Inside the transaction, as it ends: its new batches and what it took go to the journal. */
  beforeCommit(): void {
    for (const batch of this.adding.values()) {
      if (batch.live === 0) continue;
      // Every intent goes in the row (their places are fixed), those already taken marked so.
      let text = '[';
      for (const e of batch.entries) {
        if (text.length > 1) text += ',';
        e.start = text.length;
        text += e.json!;
        e.end = text.length;
        e.json = null;
      }
      this.stmt.insert.run(batch.seq, batch.receivedAt, text + ']', batch.live === batch.entries.length ? null : takenBits(batch));
    }
    for (const batch of this.touched) {
      if (batch.live === 0) this.stmt.remove.run(batch.seq);
      else this.stmt.mark.run(takenBits(batch), batch.seq);
    }
  }

  committed(): void {
    this.committedCount += this.delta;
    for (const [resource, n] of this.byResourceDelta) bump(this.byResource, resource, n);
    this.reset();
  }

  /** The journal is what was committed: the queue is rebuilt from it. */
  rolledBack(): void {
    const dirty = this.adding.size > 0 || this.touched.size > 0;
    this.reset();
    if (dirty) this.load();
  }

  private commitNow(): void {
    this.db.transaction(() => this.beforeCommit())();
    this.committed();
  }

  private reset(): void {
    if (this.adding.size > 0) this.adding = new Map();
    if (this.touched.size > 0) this.touched = new Set();
    if (this.byResourceDelta.size > 0) this.byResourceDelta = new Map();
    this.delta = 0;
  }

  /** A taken one (applied before a restart) is kept only for its place in the row. */
  private enter(batch: PendingBatch, intent: CdcIntent | IntentText, json: string | null, taken = false): PendingEntry {
    const entry: PendingEntry = {
      seq: ++this.lastEntrySeq, timeMs: intent.timeMs, requestId: intent.requestId, receivedAt: batch.receivedAt, resource: intent.resource,
      batch, index: batch.entries.length, start: 0, end: 0, json, taken,
    };
    batch.entries.push(entry);
    if (taken) return entry;
    batch.live++;
    this.queue.add(entry);
    return entry;
  }

  private load(): void {
    this.queue.clear();
    this.byResource.clear();
    this.committedCount = 0;
    this.lastBatchSeq = 0;
    for (const row of this.stmt.all.all() as BatchRow[]) {
      this.lastBatchSeq = row.seq;
      const batch: PendingBatch = { seq: row.seq, receivedAt: row.received_at, entries: [], live: 0 };
      const intents = JSON.parse(row.intents) as CdcIntent[];
      // Where each intent's text is in the row: the row is the intents' JSON.stringify joined by commas;
      // a row written otherwise (by hand, another version) is rewritten so.
      const texts = intents.map((i) => JSON.stringify(i));
      let at = 1;
      for (let i = 0; i < intents.length; i++) {
        const taken = row.taken !== null && ((row.taken[i >> 3] ?? 0) & (1 << (i & 7))) !== 0;
        const entry = this.enter(batch, intents[i]!, null, taken);
        entry.start = at;
        entry.end = at += texts[i]!.length;
        at++;
        if (taken) continue;
        bump(this.byResource, intents[i]!.resource, 1);
        this.committedCount++;
      }
      if (batch.live === 0) this.stmt.remove.run(row.seq);
      else if (row.intents.length !== at || `[${texts.join(',')}]` !== row.intents) this.stmt.rewrite.run(`[${texts.join(',')}]`, row.seq);
    }
  }
}

/** One bit per intent of the batch, set when it was taken. */
function takenBits(batch: PendingBatch): Buffer {
  const bits = Buffer.alloc((batch.entries.length + 7) >> 3);
  for (const e of batch.entries) if (e.taken) bits[e.index >> 3]! |= 1 << (e.index & 7);
  return bits;
}

function bump(counts: Map<string, number>, key: string, by: number): void {
  const n = (counts.get(key) ?? 0) + by;
  if (n === 0) counts.delete(key);
  else counts.set(key, n);
}
