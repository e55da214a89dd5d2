import type Database from 'better-sqlite3';

/** meta key: every change record up to this `records.seq` is in `cdc_state` (later ones are replayed at open). */
export const CDC_FLUSHED_SEQ = 'cdc_flushed_seq';

/**
 * CDC state written behind (store migration 6). States live in memory and reach `cdc_state` in
 * bulk; until then the change records are their journal, and `cdc_clock` journals what moves a
 * key's clock without a record (an update that changes nothing). Pending intents get an index in
 * request-time order, the order the applier takes them in.
 */
export function cdcWriteBehind(db: Database.Database): void {
  db.exec(`
CREATE TABLE cdc_clock (
  seq INTEGER PRIMARY KEY,
  resource TEXT NOT NULL,
  key TEXT NOT NULL,
  time_ms INTEGER NOT NULL,
  request_id TEXT NOT NULL
);
CREATE INDEX cdc_pending_by_time ON cdc_pending(time_ms, request_id, seq);
`);
  // A store of an earlier release has every state in cdc_state already.
  db.prepare('INSERT INTO meta(key, value) VALUES (?, (SELECT COALESCE(MAX(seq), 0) FROM records))').run(CDC_FLUSHED_SEQ);
}
