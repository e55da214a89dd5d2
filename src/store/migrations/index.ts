import type { Migration } from '../database.js';
import { SCHEMA_V1 } from './schema-v1.js';
import { SUBSCRIPTIONS_SQL, copyWebhookCursors, moveDispatcherCheckpoints } from './subscriptions.js';
import { WEBHOOK_SCHEMA_V1 } from './webhook-outbox-v1.js';
import { cdcWriteBehind } from './cdc-write-behind.js';
import { recordBlocks } from './record-blocks.js';
import { cdcPendingBatches } from './cdc-pending-batches.js';
import { STREAM_PRODUCERS_SQL } from '../stream-producers.js';
import { CONSUMER_ACKS_SQL } from '../consumer-acks.js';

/** Every schema change of the store, oldest first. Append only: a released migration never changes. */
export const STORE_MIGRATIONS: readonly Migration[] = [
  { version: 1, name: 'event log, ingest ledger and CDC state', up: SCHEMA_V1 },
  {
    version: 2,
    name: 'unmatched.last_hint',
    // Releases before versioned migrations added this column by hand, still recording version 1.
    up(db) {
      const columns = db.prepare('PRAGMA table_info(unmatched)').all() as Array<{ name: string }>;
      if (!columns.some((c) => c.name === 'last_hint')) db.exec('ALTER TABLE unmatched ADD COLUMN last_hint TEXT');
    },
  },
  // Earlier releases created these tables on first use, unversioned; IF NOT EXISTS keeps theirs.
  { version: 3, name: 'webhook outbox', up: WEBHOOK_SCHEMA_V1 },
  {
    version: 4,
    name: 'subscriptions',
    up(db) {
      db.exec(SUBSCRIPTIONS_SQL);
      moveDispatcherCheckpoints(db);
      copyWebhookCursors(db);
    },
  },
  {
    version: 5,
    name: 'webhook cursors in subscriptions',
    // Copied again (forward only: what was fanned out since migration 4 is not sent twice), then dropped.
    up(db) {
      copyWebhookCursors(db);
      db.exec('DROP TABLE webhook_cursors');
    },
  },
  { version: 6, name: 'CDC state written behind: clock journal, pending intents by request time', up: cdcWriteBehind },
  { version: 7, name: 'event log in compressed record blocks', up: recordBlocks },
  { version: 8, name: 'pending CDC intents journaled per batch', up: cdcPendingBatches },
  { version: 9, name: 'stream producers (published application streams)', up: STREAM_PRODUCERS_SQL },
  { version: 10, name: 'per-event consumer acknowledgements', up: CONSUMER_ACKS_SQL },
];
