import type Database from 'better-sqlite3';

/**
 * Pending CDC intents journaled per batch (store migration 8): the reorder window's order is held in
 * memory, and `cdc_pending_batches` keeps one row per batch that arrived, its intents as one JSON
 * array and a bitmap of those applied (src/store/cdc-pending.ts). The intents of `cdc_pending` move over, each a row of
 * its own, in arrival order (the last tie-break of the apply order). The old table stays, empty and
 * unused: dropping it would leave its pages free in the file, and a migration runs in a transaction,
 * where SQLite cannot vacuum them away.
 */
export function cdcPendingBatches(db: Database.Database): void {
  db.exec(`
CREATE TABLE cdc_pending_batches (
  seq INTEGER PRIMARY KEY,
  received_at INTEGER NOT NULL,
  intents TEXT NOT NULL,
  -- One bit per intent of the array (bit i of byte i/8) once it was applied; NULL: none yet.
  taken BLOB
);
INSERT INTO cdc_pending_batches(seq, received_at, intents) SELECT seq, received_at, '[' || intent || ']' FROM cdc_pending ORDER BY seq;
DELETE FROM cdc_pending;
`);
}
