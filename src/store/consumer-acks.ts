import type { StoreDatabase } from './database.js';
import { guardStoreErrors } from './sqlite-open.js';

export const CONSUMER_ACKS_SQL = `
CREATE TABLE IF NOT EXISTS consumer_acks (
  stream TEXT NOT NULL,
  consumer TEXT NOT NULL,
  offset INTEGER NOT NULL,
  acked INTEGER NOT NULL,
  visible_at INTEGER NOT NULL,
  PRIMARY KEY (stream, consumer, offset)
) WITHOUT ROWID;`;

/** What the acknowledgements need of the log: the committed offsets they move. */
export interface CommittedOffsets {
  getConsumerOffset(stream: string, consumer: string): number | null;
  setConsumerOffset(stream: string, consumer: string, offset: number): void;
}

/**
 * Per-event acknowledgement for consumers that process out of order. Records past a consumer's
 * committed offset may be acknowledged (done), in flight (handed out, hidden until their visibility
 * timeout) or given back (nack: visible again after a delay). The committed offset advances over the
 * contiguous acknowledged prefix, and those rows go; everything is in the store, so a kill -9 keeps it.
 */
export class ConsumerAcks {
  private readonly stmt;
  private readonly tx;

  constructor(database: StoreDatabase, private readonly offsets: CommittedOffsets) {
    guardStoreErrors(this, database.path);
    const db = database.db;
    this.stmt = {
      rows: db.prepare('SELECT offset, acked, visible_at AS visibleAt FROM consumer_acks WHERE stream = ? AND consumer = ? AND offset > ? AND offset <= ?'),
      ack: db.prepare(`INSERT INTO consumer_acks(stream, consumer, offset, acked, visible_at) VALUES (?, ?, ?, 1, 0)
        ON CONFLICT(stream, consumer, offset) DO UPDATE SET acked = 1`),
      hold: db.prepare(`INSERT INTO consumer_acks(stream, consumer, offset, acked, visible_at) VALUES (?, ?, ?, 0, ?)
        ON CONFLICT(stream, consumer, offset) DO UPDATE SET visible_at = excluded.visible_at WHERE acked = 0`),
      acked: db.prepare('SELECT 1 FROM consumer_acks WHERE stream = ? AND consumer = ? AND offset = ? AND acked = 1').pluck(),
      dropUpTo: db.prepare('DELETE FROM consumer_acks WHERE stream = ? AND consumer = ? AND offset <= ?'),
    };
    this.tx = db.transaction.bind(db);
  }

  committed(stream: string, consumer: string): number {
    return this.offsets.getConsumerOffset(stream, consumer) ?? 0;
  }

  /**
   * Of `offsets` (past the committed offset), those the consumer should get now: neither acknowledged
   * nor in flight. Each one given is in flight until `now + visibilityMs` when that is set.
   */
  take(stream: string, consumer: string, offsets: number[], now: number, visibilityMs: number | null): number[] {
    if (offsets.length === 0) return [];
    return this.tx(() => {
      const rows = this.stmt.rows.all(stream, consumer, offsets[0]! - 1, offsets.at(-1)!) as Array<{ offset: number; acked: number; visibleAt: number }>;
      const hidden = new Set(rows.filter((r) => r.acked === 1 || r.visibleAt > now).map((r) => r.offset));
      const given = offsets.filter((o) => !hidden.has(o));
      if (visibilityMs !== null) for (const o of given) this.stmt.hold.run(stream, consumer, o, now + visibilityMs);
      return given;
    })();
  }

  /** Acknowledges `offset`; the committed offset afterwards (moved over the acknowledged prefix). */
  ack(stream: string, consumer: string, offset: number): number {
    return this.tx(() => {
      let committed = this.committed(stream, consumer);
      if (offset <= committed) return committed;
      this.stmt.ack.run(stream, consumer, offset);
      while (this.stmt.acked.get(stream, consumer, committed + 1)) committed++;
      if (committed > this.committed(stream, consumer)) {
        this.offsets.setConsumerOffset(stream, consumer, committed);
        this.stmt.dropUpTo.run(stream, consumer, committed);
      }
      return committed;
    })();
  }

  /** Gives `offset` back: visible again at `visibleAt` (not if it was acknowledged). False when it was. */
  nack(stream: string, consumer: string, offset: number, visibleAt: number): boolean {
    return this.tx(() => {
      if (offset <= this.committed(stream, consumer) || this.stmt.acked.get(stream, consumer, offset)) return false;
      this.stmt.hold.run(stream, consumer, offset, visibleAt);
      return true;
    })();
  }
}
