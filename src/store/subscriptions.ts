import type { StoreDatabase } from './database.js';
import { guardStoreErrors } from './sqlite-open.js';

/** Owner name of a sink's dispatcher. */
export const sinkOwner = (sink: string) => `sink:${sink}`;
/** Owner name of a webhook endpoint. */
export const webhookOwner = (endpointId: string) => `webhook:${endpointId}`;

/**
 * Who follows which stream and how far it has taken it: an owner (a sink's dispatcher, a webhook
 * endpoint) keeps one integer cursor per stream, the offset of the last record it took. Cursors
 * only move forward. The lowest cursor of a stream is its retention floor.
 */
export interface SubscriptionStore {
  /** The owner's cursor per stream it follows. */
  cursors(owner: string): Map<string, number>;
  cursor(owner: string, stream: string): number | null;
  /** Starts following these streams at cursor 0 where the owner does not follow them yet. */
  follow(owner: string, streams: readonly string[]): void;
  /** Moves cursors forward (never back), all in one transaction. */
  commit(owner: string, cursors: ReadonlyMap<string, number>): void;
  drop(owner: string): void;
  /**
   * The lowest cursor on `stream` among `owners` (every owner when not given), or null when none
   * of them follows it: records past the floor must stay.
   */
  floor(stream: string, owners?: ReadonlySet<string>): number | null;
}

export class SqliteSubscriptions implements SubscriptionStore {
  private readonly stmt;

  constructor(private readonly database: StoreDatabase) {
    guardStoreErrors(this, database.path);
    const db = database.db;
    this.stmt = {
      cursors: db.prepare('SELECT stream, cursor FROM subscriptions WHERE owner = ?'),
      cursor: db.prepare('SELECT cursor FROM subscriptions WHERE owner = ? AND stream = ?').pluck(),
      follow: db.prepare('INSERT OR IGNORE INTO subscriptions(owner, stream, cursor) VALUES (?, ?, 0)'),
      commit: db.prepare(`INSERT INTO subscriptions(owner, stream, cursor) VALUES (?, ?, ?)
        ON CONFLICT(owner, stream) DO UPDATE SET cursor = excluded.cursor WHERE excluded.cursor > cursor`),
      drop: db.prepare('DELETE FROM subscriptions WHERE owner = ?'),
      floor: db.prepare('SELECT MIN(cursor) FROM subscriptions WHERE stream = ?').pluck(),
      ofStream: db.prepare('SELECT owner, cursor FROM subscriptions WHERE stream = ?'),
    };
  }

  cursors(owner: string): Map<string, number> {
    const out = new Map<string, number>();
    for (const r of this.stmt.cursors.all(owner) as Array<{ stream: string; cursor: number }>) out.set(r.stream, r.cursor);
    return out;
  }

  cursor(owner: string, stream: string): number | null {
    return (this.stmt.cursor.get(owner, stream) as number | undefined) ?? null;
  }

  follow(owner: string, streams: readonly string[]): void {
    this.database.transaction(() => {
      for (const s of streams) this.stmt.follow.run(owner, s);
    });
  }

  commit(owner: string, cursors: ReadonlyMap<string, number>): void {
    if (cursors.size === 1) {
      const [[stream, cursor]] = cursors;
      this.stmt.commit.run(owner, stream, cursor);
      return;
    }
    this.database.transaction(() => {
      for (const [stream, cursor] of cursors) this.stmt.commit.run(owner, stream, cursor);
    });
  }

  drop(owner: string): void {
    this.stmt.drop.run(owner);
  }

  floor(stream: string, owners?: ReadonlySet<string>): number | null {
    if (!owners) return (this.stmt.floor.get(stream) as number | null) ?? null;
    let min: number | null = null;
    for (const r of this.stmt.ofStream.all(stream) as Array<{ owner: string; cursor: number }>) {
      if (owners.has(r.owner) && (min === null || r.cursor < min)) min = r.cursor;
    }
    return min;
  }
}
