/**
 * The webhook outbox tables as release 1 created them (store migration 3), frozen: the webhook sink
 * connector (connectors/sinks/webhook) owns these tables now and changes them through its own
 * migrations; `webhook_cursors` moved into `subscriptions` (migration 5).
 */
export const WEBHOOK_SCHEMA_V1 = `
CREATE TABLE IF NOT EXISTS webhook_endpoints (
  id TEXT PRIMARY KEY,
  url TEXT NOT NULL,
  streams TEXT NOT NULL,
  types TEXT,
  filter TEXT,
  description TEXT,
  secrets TEXT NOT NULL,
  enabled INTEGER NOT NULL,
  disabled_reason TEXT,
  disabled_at INTEGER,
  failing_since INTEGER,
  origin TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
-- How far each endpoint has fanned out each stream.
CREATE TABLE IF NOT EXISTS webhook_cursors (
  endpoint_id TEXT NOT NULL,
  stream TEXT NOT NULL,
  offset INTEGER NOT NULL,
  PRIMARY KEY (endpoint_id, stream)
) WITHOUT ROWID;
-- status: 0 pending, 1 delivered, 2 dead. A pending message behind an earlier one of its key
-- waits with next_at = BLOCKED until that one is settled (per-key order).
CREATE TABLE IF NOT EXISTS webhook_messages (
  id INTEGER PRIMARY KEY,
  endpoint_id TEXT NOT NULL,
  event_id TEXT NOT NULL,
  stream TEXT NOT NULL,
  offset INTEGER NOT NULL,
  key TEXT,
  payload TEXT NOT NULL,
  status INTEGER NOT NULL,
  attempts INTEGER NOT NULL,
  next_at INTEGER NOT NULL,
  last_status INTEGER,
  last_error TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS webhook_messages_by_event ON webhook_messages(endpoint_id, event_id);
CREATE INDEX IF NOT EXISTS webhook_messages_due ON webhook_messages(endpoint_id, next_at) WHERE status = 0;
CREATE INDEX IF NOT EXISTS webhook_messages_by_key ON webhook_messages(endpoint_id, key, id) WHERE status = 0;
CREATE INDEX IF NOT EXISTS webhook_messages_dead ON webhook_messages(endpoint_id, id) WHERE status = 2;
CREATE TABLE IF NOT EXISTS webhook_attempts (
  id INTEGER PRIMARY KEY,
  endpoint_id TEXT NOT NULL,
  event_id TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  time INTEGER NOT NULL,
  status_code INTEGER,
  latency_ms REAL NOT NULL,
  error TEXT,
  response_body TEXT,
  next_retry_at INTEGER
);
CREATE INDEX IF NOT EXISTS webhook_attempts_by_endpoint ON webhook_attempts(endpoint_id, id);
`;
