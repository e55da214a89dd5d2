import type Database from 'better-sqlite3';
import { webhookOwner } from '../subscriptions.js';

export const SUBSCRIPTIONS_SQL = `
-- Who follows which stream, and up to which offset it has taken it (the next read is after cursor).
CREATE TABLE subscriptions (
  owner TEXT NOT NULL,
  stream TEXT NOT NULL,
  cursor INTEGER NOT NULL,
  PRIMARY KEY (owner, stream)
) WITHOUT ROWID;
CREATE INDEX subscriptions_by_stream ON subscriptions(stream, cursor);
`;

const UPSERT_FORWARD = `INSERT INTO subscriptions(owner, stream, cursor) VALUES (?, ?, ?)
  ON CONFLICT(owner, stream) DO UPDATE SET cursor = MAX(cursor, excluded.cursor)`;

/**
 * Dispatchers kept `sink:<name>:<stream>` → offset (as text) in `checkpoints`. Sink names may hold
 * `:`, so the stream is found as the longest known stream name the key ends with.
 */
export function moveDispatcherCheckpoints(db: Database.Database): void {
  const streams = (db.prepare('SELECT name FROM streams').pluck().all() as string[]).sort((a, b) => b.length - a.length);
  const upsert = db.prepare(UPSERT_FORWARD);
  const rows = db.prepare("SELECT source, value FROM checkpoints WHERE source LIKE 'sink:%'").all() as Array<{ source: string; value: string }>;
  for (const { source, value } of rows) {
    const stream = streams.find((s) => source.endsWith(`:${s}`) && source.length - s.length - 1 > 'sink:'.length)
      ?? source.slice(source.lastIndexOf(':') + 1);
    const owner = source.slice(0, source.length - stream.length - 1);
    const offset = Number(value);
    if (owner.length <= 'sink:'.length || !Number.isSafeInteger(offset)) continue;
    upsert.run(owner, stream, offset);
  }
  db.prepare("DELETE FROM checkpoints WHERE source LIKE 'sink:%'").run();
}

/**
 * Copies the webhook endpoints' fan-out cursors (forward only). Migration 4 copied them while the
 * webhook service still wrote `webhook_cursors`; migration 5 copies them again and drops the table.
 */
export function copyWebhookCursors(db: Database.Database): void {
  const upsert = db.prepare(UPSERT_FORWARD);
  for (const r of db.prepare('SELECT endpoint_id, stream, offset FROM webhook_cursors').all() as Array<{ endpoint_id: string; stream: string; offset: number }>) {
    upsert.run(webhookOwner(r.endpoint_id), r.stream, r.offset);
  }
}
