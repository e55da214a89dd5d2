import type { CdcIntent, ResourceState } from '../cdc/types.js';
import type { StoreDatabase } from './database.js';
import { guardStoreErrors } from './sqlite-open.js';
import type { ResourceSummary } from './types.js';

/**
 * CDC rows: intents waiting for their reorder window, the state of every resource key, and the
 * late/skipped counters. What an intent does to a state is decided in src/cdc, not here.
 */
export interface CdcStateStore {
  /** Keeps an intent pending (durably) until the reorder window has passed. */
  queue(intent: CdcIntent, receivedAt: number): void;
  /** Removes and returns up to `limit` intents received at or before `cutoff`, in request-time order. */
  takeDue(cutoff: number, limit: number): CdcIntent[];
  pendingCount(): number;
  get(resource: string, key: string): ResourceState | null;
  put(resource: string, key: string, state: ResourceState): void;
  /** Counts one late or skipped intent of a resource. */
  count(resource: string, what: 'late' | 'skipped'): void;
  /** Keys of a resource in key order, after the `after` key; deleted keys are left out. */
  list(resource: string, afterKey: string, limit: number): Array<{ key: string } & ResourceState>;
  resources(names: string[]): ResourceSummary[];
}

interface StateRow { state: string | null; deleted: number; version: number; time_ms: number; request_id: string }

export class SqliteCdcState implements CdcStateStore {
  private readonly stmt;

  constructor(database: StoreDatabase) {
    guardStoreErrors(this, database.path);
    const db = database.db;
    this.stmt = {
      insertPending: db.prepare('INSERT INTO cdc_pending(received_at, time_ms, request_id, intent) VALUES (?, ?, ?, ?)'),
      eligiblePending: db.prepare('SELECT seq, intent FROM cdc_pending WHERE received_at <= ? ORDER BY time_ms, request_id, seq LIMIT ?'),
      deletePending: db.prepare('DELETE FROM cdc_pending WHERE seq = ?'),
      countPending: db.prepare('SELECT COUNT(*) FROM cdc_pending').pluck(),
      pendingIntents: db.prepare('SELECT intent FROM cdc_pending').pluck(),
      selectState: db.prepare('SELECT state, deleted, version, time_ms, request_id FROM cdc_state WHERE resource = ? AND key = ?'),
      upsertState: db.prepare(
        `INSERT INTO cdc_state(resource, key, state, deleted, version, time_ms, request_id) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(resource, key) DO UPDATE SET state = excluded.state, deleted = excluded.deleted,
           version = excluded.version, time_ms = excluded.time_ms, request_id = excluded.request_id`,
      ),
      listStates: db.prepare(
        'SELECT key, state, deleted, version, time_ms, request_id FROM cdc_state WHERE resource = ? AND key > ? AND deleted = 0 ORDER BY key LIMIT ?',
      ),
      stateCounts: db.prepare('SELECT SUM(deleted = 0) AS live, SUM(deleted) AS deleted FROM cdc_state WHERE resource = ?'),
      bumpCounter: db.prepare('INSERT INTO counters(name, value) VALUES (?, 1) ON CONFLICT(name) DO UPDATE SET value = value + 1'),
      selectCounter: db.prepare('SELECT value FROM counters WHERE name = ?').pluck(),
    };
  }

  queue(intent: CdcIntent, receivedAt: number): void {
    this.stmt.insertPending.run(receivedAt, intent.timeMs, intent.requestId, JSON.stringify(intent));
  }

  takeDue(cutoff: number, limit: number): CdcIntent[] {
    const rows = this.stmt.eligiblePending.all(cutoff, limit) as Array<{ seq: number; intent: string }>;
    return rows.map((row) => {
      this.stmt.deletePending.run(row.seq);
      return JSON.parse(row.intent) as CdcIntent;
    });
  }

  pendingCount(): number {
    return this.stmt.countPending.get() as number;
  }

  get(resource: string, key: string): ResourceState | null {
    const row = this.stmt.selectState.get(resource, key) as StateRow | undefined;
    return row ? toResourceState(row) : null;
  }

  put(resource: string, key: string, st: ResourceState): void {
    this.stmt.upsertState.run(resource, key, st.state === null ? null : JSON.stringify(st.state), st.deleted ? 1 : 0, st.version, st.timeMs, st.requestId);
  }

  count(resource: string, what: 'late' | 'skipped'): void {
    this.stmt.bumpCounter.run(`cdc.${what}:${resource}`);
  }

  list(resource: string, afterKey: string, limit: number): Array<{ key: string } & ResourceState> {
    return (this.stmt.listStates.all(resource, afterKey, limit) as Array<StateRow & { key: string }>).map((r) => ({ key: r.key, ...toResourceState(r) }));
  }

  resources(names: string[]): ResourceSummary[] {
    const pendingByResource = new Map<string, number>();
    for (const row of this.stmt.pendingIntents.all() as string[]) {
      const r = (JSON.parse(row) as CdcIntent).resource;
      pendingByResource.set(r, (pendingByResource.get(r) ?? 0) + 1);
    }
    return names.map((name) => {
      const counts = this.stmt.stateCounts.get(name) as { live: number | null; deleted: number | null };
      return {
        name,
        keys: counts.live ?? 0,
        deleted: counts.deleted ?? 0,
        late: (this.stmt.selectCounter.get(`cdc.late:${name}`) as number | undefined) ?? 0,
        skipped: (this.stmt.selectCounter.get(`cdc.skipped:${name}`) as number | undefined) ?? 0,
        pending: pendingByResource.get(name) ?? 0,
      };
    });
  }
}

function toResourceState(row: StateRow): ResourceState {
  return { state: row.state === null ? null : (JSON.parse(row.state) as unknown), deleted: row.deleted === 1, version: row.version, timeMs: row.time_ms, requestId: row.request_id };
}
