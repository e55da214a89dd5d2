import type Database from 'better-sqlite3';
import { PendingQueue, type PendingBatch, type PendingEntry } from '../cdc/pending-queue.js';
import type { CdcIntent } from '../cdc/types.js';

/**
 * Intents waiting for their reorder window: held in memory (src/cdc/pending-queue.ts) and journaled
 * in `cdc_pending_batches`, one row per batch that arrived (its intents as one JSON array), written
 * when the transaction that queued them commits; a row is rewritten with what is left of it, or
 * deleted, by the transaction that applies its intents (the same one that writes their change
 * records), so a crash replays exactly the intents not applied. One row per batch instead of an
 * INSERT, a SELECT and a DELETE per intent.
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
      all: db.prepare('SELECT seq, received_at, intents FROM cdc_pending_batches ORDER BY seq'),
      insert: db.prepare('INSERT INTO cdc_pending_batches(seq, received_at, intents) VALUES (?, ?, ?)'),
      rewrite: db.prepare('UPDATE cdc_pending_batches SET intents = ? WHERE seq = ?'),
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

  add(intent: CdcIntent, receivedAt: number): void {
    let batch = this.adding.get(receivedAt);
    if (!batch) this.adding.set(receivedAt, (batch = { seq: ++this.lastBatchSeq, receivedAt, entries: [], live: 0 }));
    const entry: PendingEntry = {
      seq: ++this.lastEntrySeq, timeMs: intent.timeMs, requestId: intent.requestId, receivedAt, resource: intent.resource,
      json: JSON.stringify(intent), batch, taken: false,
    };
    batch.entries.push(entry);
    batch.live++;
    this.queue.add(entry);
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
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      if (this.adding.get(e.batch.receivedAt) !== e.batch) this.touched.add(e.batch);
      this.delta--;
      bump(this.byResourceDelta, e.resource, -1);
      out[i] = JSON.parse(e.json) as CdcIntent;
    }
    if (entries.length > 0 && !this.db.inTransaction) this.commitNow();
    return out;
  }

  /** Inside the transaction, as it ends: its new batches and what it took go to the journal. */
  beforeCommit(): void {
    for (const batch of this.adding.values()) if (batch.live > 0) this.stmt.insert.run(batch.seq, batch.receivedAt, rowText(batch));
    for (const batch of this.touched) {
      if (batch.live === 0) this.stmt.remove.run(batch.seq);
      else {
        this.stmt.rewrite.run(rowText(batch), batch.seq);
        // What was taken is not needed again (a rollback rebuilds from the journal).
        const left = batch.entries.filter((e) => !e.taken);
        batch.entries.length = 0;
        batch.entries.push(...left);
      }
    }
  }

  committed(): void {
    this.committedCount += this.delta;
    for (const [resource, n] of this.byResourceDelta) bump(this.byResource, resource, n);
    this.reset();
  }

  /** The journal is what was committed: the queue is rebuilt from it. */
  rolledBack(): void {
    if (this.adding.size > 0 || this.touched.size > 0) {
      this.reset();
      this.load();
    }
    this.reset();
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

  private load(): void {
    this.queue.clear();
    this.byResource.clear();
    this.committedCount = 0;
    this.lastBatchSeq = 0;
    for (const row of this.stmt.all.iterate() as IterableIterator<{ seq: number; received_at: number; intents: string }>) {
      const batch: PendingBatch = { seq: row.seq, receivedAt: row.received_at, entries: [], live: 0 };
      for (const intent of JSON.parse(row.intents) as CdcIntent[]) {
        const entry: PendingEntry = {
          seq: ++this.lastEntrySeq, timeMs: intent.timeMs, requestId: intent.requestId, receivedAt: row.received_at, resource: intent.resource,
          json: JSON.stringify(intent), batch, taken: false,
        };
        batch.entries.push(entry);
        batch.live++;
        this.queue.add(entry);
        bump(this.byResource, intent.resource, 1);
        this.committedCount++;
      }
      this.lastBatchSeq = row.seq;
    }
  }
}

/** A batch's intents not yet taken, as the journal's JSON array. */
function rowText(batch: PendingBatch): string {
  let text = '[';
  for (const e of batch.entries) if (!e.taken) text += (text.length === 1 ? '' : ',') + e.json;
  return text + ']';
}

function bump(counts: Map<string, number>, key: string, by: number): void {
  const n = (counts.get(key) ?? 0) + by;
  if (n === 0) counts.delete(key);
  else counts.set(key, n);
}
