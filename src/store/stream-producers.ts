import type { StoreDatabase } from './database.js';
import { guardStoreErrors } from './sqlite-open.js';

export const STREAM_PRODUCERS_SQL = `
CREATE TABLE IF NOT EXISTS stream_producers (
  stream TEXT PRIMARY KEY,
  producer TEXT NOT NULL,
  since INTEGER NOT NULL
);`;

/**
 * Who writes each application stream (POST /streams/{name}/events): a stream has one writer, the
 * first producer that published to it, until it is handed over (the owner released).
 */
export class StreamProducers {
  private readonly stmt;

  constructor(database: StoreDatabase) {
    guardStoreErrors(this, database.path);
    const db = database.db;
    this.stmt = {
      owner: db.prepare('SELECT producer, since FROM stream_producers WHERE stream = ?'),
      claim: db.prepare('INSERT OR IGNORE INTO stream_producers(stream, producer, since) VALUES (?, ?, ?)'),
      release: db.prepare('DELETE FROM stream_producers WHERE stream = ?'),
    };
  }

  owner(stream: string): { producer: string; since: number } | null {
    return (this.stmt.owner.get(stream) as { producer: string; since: number } | undefined) ?? null;
  }

  /** Makes `producer` the stream's writer unless another one is: true when `producer` writes it now. */
  claim(stream: string, producer: string, now = Date.now()): boolean {
    this.stmt.claim.run(stream, producer, now);
    return this.owner(stream)?.producer === producer;
  }

  /** Frees the stream for the next producer; the previous owner, or null when it had none. */
  release(stream: string): string | null {
    const previous = this.owner(stream)?.producer ?? null;
    this.stmt.release.run(stream);
    return previous;
  }
}
