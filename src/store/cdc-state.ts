import type Database from 'better-sqlite3';
import type { CdcIntent, ResourceState } from '../cdc/types.js';
import { HeldStates, type HeldState, type HeldStatesOptions, type JournalMark } from './cdc-held.js';
import { PendingIntents } from './cdc-pending.js';
import { CDC_FLUSHED_SEQ } from './migrations/cdc-write-behind.js';
import { decodeBlock } from './record-block.js';
import type { StoreDatabase } from './database.js';
import { guardStoreErrors } from './sqlite-open.js';
import type { IntentText, ResourceSummary } from './types.js';

/**
 * CDC rows: intents waiting for their reorder window, the state of every resource key, and the
 * late/skipped counters. What an intent does to a state is decided in src/cdc, not here.
 */
export interface CdcStateStore {
  /** Keeps an intent pending (durably) until the reorder window has passed. */
  queue(intent: CdcIntent | IntentText, receivedAt: number): void;
  /** Removes and returns up to `limit` intents received at or before `cutoff`, in request-time order. */
  takeDue(cutoff: number, limit: number): CdcIntent[];
  /**
   * Removes and returns, in request-time order, the pending intents up to the first that is not due:
   * due means received at or before `receivedBy` and of a request time at or before `timeBy`.
   */
  takeDueInOrder(timeBy: number, receivedBy: number, limit: number): CdcIntent[];
  /** From memory: cheap enough for every batch. */
  pendingCount(): number;
  /** Committed pending intents per resource, from memory (for the metrics' scrape). */
  pendingPerResource(): ReadonlyMap<string, number>;
  get(resource: string, key: string): ResourceState | null;
  /**
   * Sets a key's state. `json`: `JSON.stringify(state.state)` if the caller made it. `journaled`:
   * a change record appended in the same transaction tells this state (else the clock is journaled).
   */
  put(resource: string, key: string, state: ResourceState, options?: { json?: string; journaled?: boolean }): void;
  /** Called at the end of a transaction that applied changes: once enough states are held, writes a slice of them. */
  writeBehind(): void;
  /** Writes every held state now (before pruning the log that journals them, before listing, at close). */
  flush(): void;
  /** Counts one late or skipped intent of a resource. */
  count(resource: string, what: 'late' | 'skipped'): void;
  /** Keys of a resource in key order, after the `after` key; deleted keys are left out. */
  list(resource: string, afterKey: string, limit: number): Array<{ key: string } & ResourceState>;
  resources(names: string[]): ResourceSummary[];
}

interface StateRow { state: string | null; deleted: number; version: number; time_ms: number; request_id: string }

/**
 * States held in memory before they are written to `cdc_state`: each key's row written once per
 * rotation instead of once per change (rows of random keys cost a page each per commit). 32k: 64k
 * cost 37-40 instead of 45-48 µs CPU per change (1M changes over 100k keys), but peak RSS with 1M
 * live keys (bench d, its own child) rose from 298-302 to 333-343 MiB, past the 300 MB target.
 * Past it, each transaction writes one key range of them (a slice, ~200 rows in key order); all
 * 32k at once held up the batch of that transaction for 160-800 ms (bench d, 100k keys).
 */
const WRITE_BEHIND_KEYS = 32_768;
/** A slice writes at least this many, and twice what its transaction added, so the held states shrink. */
const SLICE_MIN = 64;

const mapKey = (resource: string, key: string) => `${resource}\u0000${key}`;

/**
 * Until a flush writes them to `cdc_state`, states live in memory and their journal is durable in
 * the same transaction: the change record itself (a state is the `after` of its key's last change
 * record), or a `cdc_clock` row when only the key's clock moved. Opening the store replays the
 * journal past `meta.cdc_flushed_seq`, so a crash loses nothing that was committed.
 */
export class SqliteCdcState implements CdcStateStore {
  private readonly stmt;
  private readonly db: Database.Database;
  /** Committed states not yet in cdc_state. */
  private held: HeldStates;
  /** States put by the running transaction: they join `held` when it commits. */
  private writing = new Map<string, HeldState>();
  /** States the running transaction wrote to cdc_state (they leave `held` when it commits), and their ranges. */
  private written: Map<string, HeldState> | null = null;
  private writtenRanges: number[] = [];
  /** The journal's position when the running transaction put its first state. */
  private mark: JournalMark | null = null;
  private readonly pending: PendingIntents;
  private writeBehindKeys = WRITE_BEHIND_KEYS;
  private sliceMin = SLICE_MIN;

  constructor(database: StoreDatabase, heldOptions: HeldStatesOptions = {}) {
    this.held = new HeldStates(heldOptions);
    guardStoreErrors(this, database.path);
    const db = (this.db = database.db);
    this.stmt = {
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
      insertClock: db.prepare('INSERT INTO cdc_clock(resource, key, time_ms, request_id) VALUES (?, ?, ?, ?)'),
      clocks: db.prepare('SELECT resource, key, time_ms, request_id FROM cdc_clock ORDER BY seq'),
      // The newest row stays: its seq keeps the next ones above every mark taken so far.
      clearClocksTo: db.prepare('DELETE FROM cdc_clock WHERE seq <= ? AND seq < (SELECT MAX(seq) FROM cdc_clock)'),
      lastClock: db.prepare('SELECT COALESCE(MAX(seq), 0) FROM cdc_clock').pluck(),
      flushedSeq: db.prepare('SELECT value FROM meta WHERE key = ?').pluck(),
      setFlushedSeq: db.prepare('INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value'),
      // The journal's position is a record block's seq (src/store/record-block.ts).
      lastSeq: db.prepare('SELECT COALESCE(MAX(seq), 0) FROM record_blocks').pluck(),
      journal: db.prepare(
        `SELECT s.name AS stream, b.seq AS seq, b.first_offset AS first, b.codec AS codec, b.body AS body
         FROM record_blocks b JOIN streams s ON s.id = b.stream_id WHERE b.seq > ? AND s.kind = 'changelog' ORDER BY b.seq`,
      ),
    };
    const pending = (this.pending = new PendingIntents(db));
    database.addHooks({
      beforeCommit: () => pending.beforeCommit(),
      committed: () => this.committed(),
      rolledBack: () => this.rolledBack(),
    });
    this.recover();
  }

  private committed(): void {
    this.settle();
    this.pending.committed();
  }

  /** The running transaction's states join `held`, those it wrote leave it. */
  private settle(): void {
    if (this.writing.size > 0 || this.written) this.held.commit(this.writing, this.written, this.writtenRanges, this.mark);
    this.reset();
  }

  private rolledBack(): void {
    this.pending.rolledBack();
    this.reset();
  }

  private reset(): void {
    if (this.writing.size > 0) this.writing = new Map();
    this.written = null;
    this.writtenRanges = [];
    this.mark = null;
  }

  /** How many states are held before slices are written, a slice's least size, and key ranges (tests make them small). */
  setWriteBehind(keys: number, sliceMin: number, held?: HeldStatesOptions): void {
    this.writeBehindKeys = keys;
    this.sliceMin = sliceMin;
    if (held) {
      this.flush();
      this.held = new HeldStates(held);
    }
  }

  queue(intent: CdcIntent | IntentText, receivedAt: number): void {
    this.pending.add(intent, receivedAt);
  }

  takeDue(cutoff: number, limit: number): CdcIntent[] {
    return this.pending.takeReceivedBy(cutoff, limit);
  }

  takeDueInOrder(timeBy: number, receivedBy: number, limit: number): CdcIntent[] {
    return this.pending.takeInOrder(timeBy, receivedBy, limit);
  }

  pendingCount(): number {
    return this.pending.count;
  }

  pendingPerResource(): ReadonlyMap<string, number> {
    return this.pending.perResource;
  }

  get(resource: string, key: string): ResourceState | null {
    const k = mapKey(resource, key);
    // A held state is what cdc_state has or newer, until the transaction that wrote it commits.
    const held = this.writing.get(k) ?? this.held.get(k);
    if (held) return { state: held.json === null ? null : (JSON.parse(held.json) as unknown), deleted: held.deleted, version: held.version, timeMs: held.timeMs, requestId: held.requestId };
    const row = this.stmt.selectState.get(resource, key) as StateRow | undefined;
    return row ? toResourceState(row) : null;
  }

  put(resource: string, key: string, st: ResourceState, options: { json?: string; journaled?: boolean } = {}): void {
    const json = st.state === null ? null : (options.json ?? JSON.stringify(st.state));
    if (!this.db.inTransaction) {
      // Nothing journals a write outside a transaction: it goes to its row at once.
      this.stmt.upsertState.run(resource, key, json, st.deleted ? 1 : 0, st.version, st.timeMs, st.requestId);
      return;
    }
    this.mark ??= { seq: this.stmt.lastSeq.get() as number, clock: this.stmt.lastClock.get() as number };
    if (!options.journaled) this.stmt.insertClock.run(resource, key, st.timeMs, st.requestId);
    this.writing.set(mapKey(resource, key), { resource, key, json, deleted: st.deleted, version: st.version, timeMs: st.timeMs, requestId: st.requestId, since: 0, clockSince: 0, range: 0 });
  }

  writeBehind(): void {
    if (this.held.size + this.writing.size - (this.written?.size ?? 0) < this.writeBehindKeys) return;
    const slice = this.held.nextSlice(Math.max(this.sliceMin, 2 * this.writing.size), new Set(this.writtenRanges));
    this.writeStates(slice.keys, slice.ranges);
    const oldest = this.held.oldest(this.written);
    // Replay must start before the first change of every state still held (those of this transaction come after its mark).
    const mark = oldest ? { seq: oldest.since, clock: oldest.clockSince } : (this.mark ?? { seq: this.stmt.lastSeq.get() as number, clock: this.stmt.lastClock.get() as number });
    this.stmt.clearClocksTo.run(mark.clock);
    this.stmt.setFlushedSeq.run(CDC_FLUSHED_SEQ, String(mark.seq));
  }

  flush(): void {
    if (this.db.inTransaction) return this.flushHere();
    if (this.held.size === 0) return;
    try {
      this.db.transaction(() => this.flushHere())();
    } catch (err) {
      this.reset();
      throw err;
    }
    this.settle();
  }

  /** Writes the current state of each key (held or put by this transaction), remembering what it wrote. */
  private writeStates(keys: Iterable<string>, ranges: number[]): void {
    const written = (this.written ??= new Map());
    for (const k of keys) {
      const s = this.writing.get(k) ?? this.held.get(k);
      if (!s || written.get(k) === s) continue;
      this.stmt.upsertState.run(s.resource, s.key, s.json, s.deleted ? 1 : 0, s.version, s.timeMs, s.requestId);
      written.set(k, s);
    }
    for (const r of ranges) this.writtenRanges.push(r);
  }

  /**
   * Writes every held state (those of the running transaction too, so far) and empties the clock
   * journal, in the running transaction; they leave `held` when it commits.
   */
  private flushHere(): void {
    const all = this.held.nextSlice(Number.POSITIVE_INFINITY, new Set(this.writtenRanges));
    this.writeStates(all.keys, all.ranges);
    this.writeStates([...this.writing.keys()].sort(), []);
    this.stmt.clearClocksTo.run(Number.MAX_SAFE_INTEGER);
    this.stmt.setFlushedSeq.run(CDC_FLUSHED_SEQ, String(this.stmt.lastSeq.get() as number));
  }

  /** After pruning: records that follow get sequence numbers above what is left, so the mark must not be above it. */
  lowerFlushedMark(): void {
    const last = this.stmt.lastSeq.get() as number;
    if (Number(this.stmt.flushedSeq.get(CDC_FLUSHED_SEQ) ?? 0) > last) this.stmt.setFlushedSeq.run(CDC_FLUSHED_SEQ, String(last));
  }

  /**
   * Replays the journal past the last flush onto the stored states (a change record: its `after`,
   * version + 1; a clock row: the clock only), each only if newer than the state, then flushes.
   */
  private recover(): void {
    const from = Number(this.stmt.flushedSeq.get(CDC_FLUSHED_SEQ) ?? 0);
    // Blocks past the mark; those the last flush's own transaction wrote after it replay as no-ops (not newer).
    const blocks = this.stmt.journal.all(from) as Array<{ stream: string; seq: number; first: number; codec: number; body: Buffer }>;
    const rows = blocks.flatMap((b) => {
      const block = decodeBlock(b.first, b.codec, b.body, `record block ${b.seq}`);
      return block.values.map((value, i) => ({ stream: b.stream, key: block.keys[i]!, value }));
    });
    const clocks = this.stmt.clocks.all() as Array<{ resource: string; key: string; time_ms: number; request_id: string }>;
    if (rows.length === 0 && clocks.length === 0) return;
    this.db.transaction(() => {
      for (const row of rows) {
        const change = JSON.parse(row.value) as { op: string; key?: string; after: unknown; ts_ms: number; source: { requestId: string } };
        const resource = row.stream.slice(0, -'.changelog'.length);
        const key = row.key ?? change.key!;
        const current = this.get(resource, key);
        const clock = { timeMs: change.ts_ms, requestId: change.source.requestId };
        if (current && !newer(clock, current)) continue;
        const deleted = change.op === 'd';
        this.put(resource, key, { state: deleted ? null : change.after, deleted, version: (current?.version ?? 0) + 1, ...clock }, { journaled: true });
      }
      for (const c of clocks) {
        const current = this.get(c.resource, c.key);
        const clock = { timeMs: c.time_ms, requestId: c.request_id };
        if (!current || !newer(clock, current)) continue;
        this.put(c.resource, c.key, { ...current, ...clock }, { journaled: true });
      }
      this.flushHere();
    })();
    this.settle();
  }

  count(resource: string, what: 'late' | 'skipped'): void {
    this.stmt.bumpCounter.run(`cdc.${what}:${resource}`);
  }

  list(resource: string, afterKey: string, limit: number): Array<{ key: string } & ResourceState> {
    if (!this.db.inTransaction) this.flush();
    return (this.stmt.listStates.all(resource, afterKey, limit) as Array<StateRow & { key: string }>).map((r) => ({ key: r.key, ...toResourceState(r) }));
  }

  resources(names: string[]): ResourceSummary[] {
    if (!this.db.inTransaction) this.flush();
    // Committed intents only, as the rows read here.
    const pendingByResource = this.pending.perResource;
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

function newer(clock: { timeMs: number; requestId: string }, current: ResourceState): boolean {
  if (clock.timeMs !== current.timeMs) return clock.timeMs > current.timeMs;
  return clock.requestId > current.requestId;
}

function toResourceState(row: StateRow): ResourceState {
  return { state: row.state === null ? null : (JSON.parse(row.state) as unknown), deleted: row.deleted === 1, version: row.version, timeMs: row.time_ms, requestId: row.request_id };
}
