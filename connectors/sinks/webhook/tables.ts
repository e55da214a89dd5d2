import type { Migration } from '../../../src/sdk/index.js';

/**
 * Webhook endpoints and their delivery state, in the embedded store's own file, so that a restart
 * resumes every pending retry on time. One row per (endpoint, event) holds its delivery state, and
 * the body as it was fanned out is kept once per event (v2): retention of the event log never takes
 * an undelivered webhook with it. How far each endpoint has fanned out each stream is its
 * subscription (owner `webhook:<id>`).
 * Stores of earlier releases have the v1 tables already (store migration 3): IF NOT EXISTS keeps them.
 */
const OUTBOX_V1 = `
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

/**
 * One body per event instead of one per (endpoint, event): 50 endpoints taking a stream wrote each
 * body 50 times, and every settled delivery rewrote a row that carried it (bench f). A message finds
 * its body by event id; whether any message still needs a body is one probe per endpoint of the
 * (endpoint_id, event_id) index.
 * Where v1 rows of one event differ (re-sent since), the newest body is kept.
 */
const SHARED_BODIES_V2 = `
CREATE TABLE webhook_bodies (
  event_id TEXT PRIMARY KEY,
  payload TEXT NOT NULL
) WITHOUT ROWID;
INSERT INTO webhook_bodies(event_id, payload)
  SELECT event_id, payload FROM webhook_messages WHERE id IN (SELECT MAX(id) FROM webhook_messages GROUP BY event_id);
ALTER TABLE webhook_messages DROP COLUMN payload;
`;

/** The connector's own migrations, oldest first; append only. */
export const WEBHOOK_TABLES: readonly Migration[] = [
  { version: 1, name: 'webhook endpoints, messages and attempts', up: OUTBOX_V1 },
  { version: 2, name: 'webhook bodies once per event', up: SHARED_BODIES_V2 },
];
