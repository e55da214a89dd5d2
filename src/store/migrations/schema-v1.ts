/**
 * Version 1 of the store schema, as the first release wrote it (frozen: a change is a new
 * migration). Stores of that release already record `schema_version` 1, so they skip this.
 */
export const SCHEMA_V1 = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS streams (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL
);
-- seq orders all records globally (and by append time), offset orders them within a stream.
CREATE TABLE IF NOT EXISTS records (
  seq INTEGER PRIMARY KEY,
  stream_id INTEGER NOT NULL,
  offset INTEGER NOT NULL,
  key TEXT,
  value TEXT NOT NULL,
  appended_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS records_by_stream ON records(stream_id, offset);
CREATE TABLE IF NOT EXISTS dedupe (
  seq INTEGER PRIMARY KEY,
  request_key TEXT NOT NULL UNIQUE,
  seen_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS dead_letters (
  id INTEGER PRIMARY KEY,
  time INTEGER NOT NULL,
  source TEXT NOT NULL,
  request_key TEXT NOT NULL,
  diagnostic TEXT NOT NULL,
  record TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS unmatched (
  label TEXT PRIMARY KEY,
  count INTEGER NOT NULL,
  last_method TEXT NOT NULL,
  last_path TEXT NOT NULL,
  last_seen INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS checkpoints (
  source TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  updated_at INTEGER NOT NULL
);
-- CDC: intents wait here (durably) for the reorder window, then apply in request-time order.
CREATE TABLE IF NOT EXISTS cdc_pending (
  seq INTEGER PRIMARY KEY,
  received_at INTEGER NOT NULL,
  time_ms INTEGER NOT NULL,
  request_id TEXT NOT NULL,
  intent TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS cdc_pending_by_arrival ON cdc_pending(received_at);
-- A rowid table: states are large rows, which WITHOUT ROWID tables store badly.
CREATE TABLE IF NOT EXISTS cdc_state (
  resource TEXT NOT NULL,
  key TEXT NOT NULL,
  state TEXT,
  deleted INTEGER NOT NULL,
  version INTEGER NOT NULL,
  time_ms INTEGER NOT NULL,
  request_id TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS cdc_state_by_key ON cdc_state(resource, key);
CREATE TABLE IF NOT EXISTS counters (
  name TEXT PRIMARY KEY,
  value INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS consumer_offsets (
  stream_id INTEGER NOT NULL,
  consumer TEXT NOT NULL,
  offset INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (stream_id, consumer)
);
`;
