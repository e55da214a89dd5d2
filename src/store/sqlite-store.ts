import type Database from 'better-sqlite3';
import { guardStoreErrors, openDatabase } from './sqlite-open.js';
import type { StreamRecord } from '../model/records.js';
import { SCHEMA_SQL, SCHEMA_VERSION } from './sqlite-schema.js';
import type { CdcDecision, CdcIntent, ResourceState } from '../cdc/types.js';
import type {
  BatchResult, BatchWrite, CdcApplyResult, ConsumerOffset, DeadLetter, EventStore, ResourceSummary, StreamSummary, UnmatchedCount,
} from './types.js';

export interface SqliteStoreOptions {
  path: string;
  /** Records older than this many ms are pruned (by append time). 0 keeps everything. */
  retentionMs: number;
  /** How long a request key is remembered to drop re-sent log entries. */
  dedupeWindowMs: number;
  /** `full` fsyncs every commit (survives power loss); `normal` survives process crashes only. */
  synchronous: 'full' | 'normal';
  now?: () => number;
}

interface StreamRow { id: number; name: string; kind: 'events' | 'changelog' }

/** Offsets and streams assigned inside a transaction, applied to the caches only after it commits. */
/** Keys per dedupe lookup (SQLite allows up to 32766 parameters). */
const SEEN_CHUNK = 500;

interface PendingState { offsets: Map<number, number>; newStreams: string[] }

type CdcDecider = (intent: CdcIntent, current: ResourceState | null) => CdcDecision;

interface StateRow { state: string | null; deleted: number; version: number; time_ms: number; request_id: string }

interface DeadLetterRow { id: number; time: number; source: string; request_key: string; diagnostic: string; record: string }

function toDeadLetter(r: DeadLetterRow): DeadLetter {
  return {
    id: r.id,
    time: new Date(r.time).toISOString(),
    source: r.source,
    requestKey: r.request_key,
    diagnostic: JSON.parse(r.diagnostic) as DeadLetter['diagnostic'],
    record: JSON.parse(r.record) as unknown,
  };
}

function toResourceState(row: StateRow): ResourceState {
  return { state: row.state === null ? null : (JSON.parse(row.state) as unknown), deleted: row.deleted === 1, version: row.version, timeMs: row.time_ms, requestId: row.request_id };
}

/** The embedded event log: one SQLite file in WAL mode, one writer (this process). */
export class SqliteStore implements EventStore {
  /** Shared with stores of other parts (webhooks) that keep their tables in the same file. */
  readonly db: Database.Database;
  private readonly now: () => number;
  private readonly streamsByName = new Map<string, StreamRow>();
  /** Last assigned offset per stream id; this process is the only writer. */
  private readonly lastOffsets = new Map<number, number>();
  private readonly listeners = new Set<(appended: Map<string, number>) => void>();
  private readonly seenStatements = new Map<number, Database.Statement>();
  private readonly stmt: ReturnType<SqliteStore['prepare']>;
  private readonly commitTx: (batch: BatchWrite, pending: PendingState) => BatchResult;
  private readonly cdcTx: (cutoff: number, decide: CdcDecider, limit: number, collect: boolean, pending: PendingState) => CdcApplyResult;

  constructor(private readonly options: SqliteStoreOptions) {
    this.now = options.now ?? Date.now;
    // Every error from here on names the database file (and the OS's reason where there is one).
    guardStoreErrors(this, options.path);
    this.db = openDatabase(options.path, [
      'journal_mode = WAL',
      `synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`,
      'busy_timeout = 5000',
      // 64 MiB of page cache: indexes of large streams stay in memory instead of being re-read per batch.
      'cache_size = -65536',
    ]);
    this.migrate();
    this.stmt = this.prepare();
    for (const row of this.db.prepare('SELECT id, name, kind FROM streams').all() as StreamRow[]) {
      this.streamsByName.set(row.name, row);
    }
    for (const row of this.db
      .prepare('SELECT stream_id AS id, MAX(offset) AS last FROM records GROUP BY stream_id')
      .all() as Array<{ id: number; last: number }>) {
      this.lastOffsets.set(row.id, row.last);
    }
    this.commitTx = this.db.transaction((batch: BatchWrite, pending: PendingState) => this.write(batch, pending));
    this.cdcTx = this.db.transaction(
      (cutoff: number, decide: CdcDecider, limit: number, collect: boolean, pending: PendingState) =>
        this.writeCdc(cutoff, decide, limit, collect, pending),
    );
  }

  private migrate(): void {
    this.db.exec(SCHEMA_SQL);
    // Columns added since version 1, for stores created before them.
    const unmatchedColumns = this.db.prepare('PRAGMA table_info(unmatched)').all() as Array<{ name: string }>;
    if (!unmatchedColumns.some((c) => c.name === 'last_hint')) this.db.exec('ALTER TABLE unmatched ADD COLUMN last_hint TEXT');
    const row = this.db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get() as
      | { value: string }
      | undefined;
    if (!row) {
      this.db.prepare("INSERT INTO meta(key, value) VALUES ('schema_version', ?)").run(String(SCHEMA_VERSION));
    } else if (Number(row.value) > SCHEMA_VERSION) {
      throw new Error(
        `${this.options.path}: store schema version ${row.value} is newer than this reflex understands (${SCHEMA_VERSION}); upgrade reflex`,
      );
    }
  }

  private prepare() {
    const db = this.db;
    return {
      insertStream: db.prepare('INSERT INTO streams(name, kind) VALUES (?, ?)'),
      insertRecord: db.prepare(
        'INSERT INTO records(stream_id, offset, key, value, appended_at) VALUES (?, ?, ?, ?, ?)',
      ),
      insertDedupe: db.prepare('INSERT OR IGNORE INTO dedupe(request_key, seen_at) VALUES (?, ?)'),
      insertDeadLetter: db.prepare(
        'INSERT INTO dead_letters(time, source, request_key, diagnostic, record) VALUES (?, ?, ?, ?, ?)',
      ),
      upsertUnmatched: db.prepare(
        `INSERT INTO unmatched(label, count, last_method, last_path, last_seen, last_hint) VALUES (?, 1, ?, ?, ?, ?)
         ON CONFLICT(label) DO UPDATE SET count = count + 1, last_method = excluded.last_method,
           last_path = excluded.last_path, last_seen = excluded.last_seen, last_hint = excluded.last_hint`,
      ),
      upsertCheckpoint: db.prepare(
        `INSERT INTO checkpoints(source, value, updated_at) VALUES (?, ?, ?)
         ON CONFLICT(source) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
      ),
      selectCheckpoint: db.prepare('SELECT value FROM checkpoints WHERE source = ?').pluck(),
      readRecords: db.prepare(
        'SELECT offset, key, value FROM records WHERE stream_id = ? AND offset > ? ORDER BY offset LIMIT ?',
      ),
      streamStats: db.prepare(
        'SELECT MIN(offset) AS first, COUNT(*) AS count FROM records WHERE stream_id = ?',
      ),
      selectConsumer: db.prepare('SELECT offset FROM consumer_offsets WHERE stream_id = ? AND consumer = ?').pluck(),
      upsertConsumer: db.prepare(
        `INSERT INTO consumer_offsets(stream_id, consumer, offset, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT(stream_id, consumer) DO UPDATE SET offset = excluded.offset, updated_at = excluded.updated_at`,
      ),
      listConsumers: db.prepare(
        'SELECT consumer, offset, updated_at FROM consumer_offsets WHERE stream_id = ? ORDER BY consumer',
      ),
      deleteDeadLetter: db.prepare('DELETE FROM dead_letters WHERE id = ?'),
      readDeadLetter: db.prepare('SELECT id, time, source, request_key, diagnostic, record FROM dead_letters WHERE id = ?'),
      readDeadLetters: db.prepare(
        'SELECT id, time, source, request_key, diagnostic, record FROM dead_letters WHERE id > ? ORDER BY id LIMIT ?',
      ),
      insertPending: db.prepare('INSERT INTO cdc_pending(received_at, time_ms, request_id, intent) VALUES (?, ?, ?, ?)'),
      eligiblePending: db.prepare(
        'SELECT seq, intent FROM cdc_pending WHERE received_at <= ? ORDER BY time_ms, request_id, seq LIMIT ?',
      ),
      deletePending: db.prepare('DELETE FROM cdc_pending WHERE seq = ?'),
      countPending: db.prepare('SELECT COUNT(*) FROM cdc_pending').pluck(),
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
      bumpCounter: db.prepare(
        'INSERT INTO counters(name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = value + excluded.value',
      ),
      selectCounter: db.prepare('SELECT value FROM counters WHERE name = ?').pluck(),
      listUnmatched: db.prepare(
        'SELECT label, count, last_method, last_path, last_seen, last_hint FROM unmatched ORDER BY count DESC, label',
      ),
    };
  }

  ensureStreams(streams: Array<{ name: string; kind: 'events' | 'changelog' }>): void {
    this.db.transaction(() => {
      for (const s of streams) this.streamRow(s.name, s.kind);
    })();
  }

  private streamRow(name: string, kind?: 'events' | 'changelog'): StreamRow {
    let row = this.streamsByName.get(name);
    if (!row) {
      const k = kind ?? (name.endsWith('.changelog') ? 'changelog' : 'events');
      const id = Number(this.stmt.insertStream.run(name, k).lastInsertRowid);
      row = { id, name, kind: k };
      this.streamsByName.set(name, row);
    }
    return row;
  }

  seen(requestKeys: string[]): Set<string> {
    const out = new Set<string>();
    // One statement per chunk instead of one per key; statements are cached by chunk size.
    for (let i = 0; i < requestKeys.length; i += SEEN_CHUNK) {
      const chunk = requestKeys.slice(i, i + SEEN_CHUNK);
      let stmt = this.seenStatements.get(chunk.length);
      if (!stmt) {
        stmt = this.db.prepare(`SELECT request_key FROM dedupe WHERE request_key IN (${chunk.map(() => '?').join(',')})`).pluck();
        this.seenStatements.set(chunk.length, stmt);
      }
      for (const k of stmt.all(...chunk) as string[]) out.add(k);
    }
    return out;
  }

  commit(batch: BatchWrite): BatchResult {
    return this.runInTransaction((pending) => this.commitTx(batch, pending));
  }

  private write(batch: BatchWrite, pending: PendingState): BatchResult {
    const now = this.now();
    const result: BatchResult = { accepted: 0, duplicates: 0, records: 0, deadLetters: 0, unmatched: 0, appended: new Map() };
    if (batch.collect) result.committed = [];
    const intents: CdcIntent[] = [];
    for (const entry of batch.entries) {
      if (entry.retryOf !== undefined) {
        this.stmt.deleteDeadLetter.run(entry.retryOf);
      } else if (this.stmt.insertDedupe.run(entry.requestKey, now).changes === 0) {
        result.duplicates++;
        continue;
      }
      result.accepted++;
      for (const rec of entry.records) {
        const offset = this.append(rec.stream, rec.key, rec.value, now, pending, rec.json);
        result.appended.set(rec.stream, offset);
        result.committed?.push({ stream: rec.stream, offset, key: rec.key, value: rec.value });
        result.records++;
      }
      if (entry.cdc) {
        if (batch.decideCdc) intents.push(entry.cdc);
        else this.stmt.insertPending.run(now, entry.cdc.timeMs, entry.cdc.requestId, JSON.stringify(entry.cdc));
      }
      if (entry.deadLetter) {
        const d = entry.deadLetter;
        this.stmt.insertDeadLetter.run(now, d.source, d.requestKey, JSON.stringify(d.diagnostic), JSON.stringify(d.record) ?? 'null');
        result.deadLetters++;
      }
      if (entry.unmatched) {
        const u = entry.unmatched;
        this.stmt.upsertUnmatched.run(u.label, u.method, u.path, now, u.hint ?? null);
        result.unmatched++;
      }
    }
    if (batch.decideCdc && intents.length > 0) {
      intents.sort((a, b) => a.timeMs - b.timeMs || (a.requestId < b.requestId ? -1 : a.requestId > b.requestId ? 1 : 0));
      const cdc: CdcApplyResult = { applied: 0, records: 0, late: 0, skipped: [], appended: result.appended, ...(result.committed ? { committed: result.committed } : {}) };
      for (const intent of intents) this.applyIntent(intent, batch.decideCdc, now, pending, cdc);
      result.records += cdc.records;
      result.cdc = { records: cdc.records, late: cdc.late, skipped: cdc.skipped };
    }
    if (batch.checkpoint) this.stmt.upsertCheckpoint.run(batch.checkpoint.source, batch.checkpoint.value, now);
    return result;
  }

  /** Appends one record inside the running transaction; caches are updated only after commit. */
  private append(streamName: string, key: string | null, value: unknown, now: number, pending: PendingState, json?: string): number {
    const known = this.streamsByName.has(streamName);
    const stream = this.streamRow(streamName);
    if (!known) pending.newStreams.push(streamName);
    const offset = (pending.offsets.get(stream.id) ?? this.lastOffsets.get(stream.id) ?? 0) + 1;
    pending.offsets.set(stream.id, offset);
    this.stmt.insertRecord.run(stream.id, offset, key, json ?? JSON.stringify(value), now);
    return offset;
  }

  private runInTransaction<R extends { appended: Map<string, number> }>(run: (pending: PendingState) => R): R {
    const pending: PendingState = { offsets: new Map(), newStreams: [] };
    let result: R;
    try {
      result = run(pending);
    } catch (err) {
      // The transaction rolled back: forget the streams it created, their rows are gone.
      for (const name of pending.newStreams) this.streamsByName.delete(name);
      throw err;
    }
    for (const [id, offset] of pending.offsets) this.lastOffsets.set(id, offset);
    if (result.appended.size > 0) for (const l of this.listeners) l(result.appended);
    return result;
  }

  applyCdc(cutoff: number, decide: CdcDecider, options: { limit?: number; collect?: boolean } = {}): CdcApplyResult {
    return this.runInTransaction((pending) => this.cdcTx(cutoff, decide, options.limit ?? 10_000, options.collect ?? false, pending));
  }

  private writeCdc(cutoff: number, decide: CdcDecider, limit: number, collect: boolean, pending: PendingState): CdcApplyResult {
    const now = this.now();
    const result: CdcApplyResult = { applied: 0, records: 0, late: 0, skipped: [], appended: new Map() };
    if (collect) result.committed = [];
    const rows = this.stmt.eligiblePending.all(cutoff, limit) as Array<{ seq: number; intent: string }>;
    for (const row of rows) {
      this.stmt.deletePending.run(row.seq);
      this.applyIntent(JSON.parse(row.intent) as CdcIntent, decide, now, pending, result);
    }
    return result;
  }

  /** One intent against its key's state, inside the running transaction. */
  private applyIntent(intent: CdcIntent, decide: CdcDecider, now: number, pending: PendingState, result: CdcApplyResult): void {
    const current = this.stmt.selectState.get(intent.resource, intent.key) as StateRow | undefined;
    const decision = decide(intent, current ? toResourceState(current) : null);
    result.applied++;
    if (decision.kind === 'late') {
      result.late++;
      this.stmt.bumpCounter.run(`cdc.late:${intent.resource}`, 1);
      return;
    }
    if (decision.kind === 'skipped') {
      result.skipped.push({ intent, reason: decision.reason });
      this.stmt.bumpCounter.run(`cdc.skipped:${intent.resource}`, 1);
      return;
    }
    const st = decision.state;
    this.stmt.upsertState.run(intent.resource, intent.key, st.state === null ? null : JSON.stringify(st.state), st.deleted ? 1 : 0, st.version, st.timeMs, st.requestId);
    if (decision.record) {
      const stream = `${intent.resource}.changelog`;
      const offset = this.append(stream, intent.key, decision.record, now, pending);
      result.appended.set(stream, offset);
      result.committed?.push({ stream, offset, key: intent.key, value: decision.record });
      result.records++;
    }
  }

  pendingCdc(): number {
    return this.stmt.countPending.get() as number;
  }

  getResource(resource: string, key: string): ResourceState | null {
    const row = this.stmt.selectState.get(resource, key) as StateRow | undefined;
    return row ? toResourceState(row) : null;
  }

  listResource(resource: string, afterKey: string, limit: number): Array<{ key: string } & ResourceState> {
    return (this.stmt.listStates.all(resource, afterKey, limit) as Array<StateRow & { key: string }>).map((r) => ({ key: r.key, ...toResourceState(r) }));
  }

  resources(names: string[]): ResourceSummary[] {
    const pendingByResource = new Map<string, number>();
    for (const row of this.db.prepare('SELECT intent FROM cdc_pending').pluck().all() as string[]) {
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

  read(stream: string, afterOffset: number, limit: number): StreamRecord[] {
    const row = this.streamsByName.get(stream);
    if (!row) return [];
    const rows = this.stmt.readRecords.all(row.id, afterOffset, limit) as Array<{ offset: number; key: string | null; value: string }>;
    return rows.map((r) => ({ stream, offset: r.offset, key: r.key, value: JSON.parse(r.value) as unknown }));
  }

  firstOffsetSince(stream: string, timeMs: number): number | null {
    const row = this.streamsByName.get(stream);
    if (!row) return null;
    const found = this.db.prepare('SELECT MIN(offset) AS o FROM records WHERE stream_id = ? AND appended_at >= ?').get(row.id, timeMs) as { o: number | null };
    return found.o;
  }

  hasStream(stream: string): boolean {
    return this.streamsByName.has(stream);
  }

  lastOffset(stream: string): number {
    const row = this.streamsByName.get(stream);
    return row ? (this.lastOffsets.get(row.id) ?? 0) : 0;
  }

  streamNames(): string[] {
    return [...this.streamsByName.keys()];
  }

  streams(): StreamSummary[] {
    return [...this.streamsByName.values()]
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((row) => {
        const stats = this.stmt.streamStats.get(row.id) as { first: number | null; count: number };
        return { name: row.name, kind: row.kind, firstOffset: stats.first, lastOffset: this.lastOffsets.get(row.id) ?? 0, count: stats.count };
      });
  }

  getConsumerOffset(stream: string, consumer: string): number | null {
    const row = this.streamsByName.get(stream);
    if (!row) return null;
    return (this.stmt.selectConsumer.get(row.id, consumer) as number | undefined) ?? null;
  }

  setConsumerOffset(stream: string, consumer: string, offset: number): void {
    const row = this.streamRow(stream);
    this.stmt.upsertConsumer.run(row.id, consumer, offset, this.now());
  }

  consumerOffsets(stream: string): ConsumerOffset[] {
    const row = this.streamsByName.get(stream);
    if (!row) return [];
    return (this.stmt.listConsumers.all(row.id) as Array<{ consumer: string; offset: number; updated_at: number }>).map((r) => ({
      consumer: r.consumer,
      offset: r.offset,
      updatedAt: new Date(r.updated_at).toISOString(),
    }));
  }

  deadLetter(id: number): DeadLetter | null {
    const row = this.stmt.readDeadLetter.get(id) as DeadLetterRow | undefined;
    return row ? toDeadLetter(row) : null;
  }

  deadLetters(afterId: number, limit: number): DeadLetter[] {
    return (this.stmt.readDeadLetters.all(afterId, limit) as DeadLetterRow[]).map(toDeadLetter);
  }

  unmatched(): UnmatchedCount[] {
    return (this.stmt.listUnmatched.all() as Array<{ label: string; count: number; last_method: string; last_path: string; last_seen: number; last_hint: string | null }>).map((r) => ({
      label: r.label,
      count: r.count,
      lastMethod: r.last_method,
      lastPath: r.last_path,
      lastSeen: new Date(r.last_seen).toISOString(),
      hint: r.last_hint,
    }));
  }

  getCheckpoint(source: string): string | null {
    return (this.stmt.selectCheckpoint.get(source) as string | undefined) ?? null;
  }

  setCheckpoint(source: string, value: string): void {
    this.stmt.upsertCheckpoint.run(source, value, this.now());
  }

  prune(now: number, delivered?: (stream: string) => number): { records: number; dedupeKeys: number } {
    const records = this.options.retentionMs > 0
      ? this.pruneBefore('records', 'appended_at', now - this.options.retentionMs, delivered)
      : 0;
    const dedupeKeys = this.pruneBefore('dedupe', 'seen_at', now - this.options.dedupeWindowMs);
    return { records, dedupeKeys };
  }

  /** Rows are appended in time order, so the cutoff is found by binary search on seq: no time index needed. */
  private pruneBefore(table: 'records' | 'dedupe', timeColumn: string, cutoff: number, delivered?: (stream: string) => number): number {
    const bounds = this.db.prepare(`SELECT MIN(seq) AS lo, MAX(seq) AS hi FROM ${table}`).get() as { lo: number | null; hi: number | null };
    if (bounds.lo === null || bounds.hi === null) return 0;
    const timeAt = this.db.prepare(`SELECT ${timeColumn} FROM ${table} WHERE seq >= ? ORDER BY seq LIMIT 1`).pluck();
    let lo = bounds.lo;
    let hi = bounds.hi + 1; // first seq whose time is >= cutoff lies in [lo, hi]
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      const t = timeAt.get(mid) as number | undefined;
      if (t !== undefined && t < cutoff) lo = mid + 1;
      else hi = mid;
    }
    if (lo <= bounds.lo) return 0;
    if (table === 'records' && delivered) {
      const del = this.db.prepare('DELETE FROM records WHERE seq < ? AND stream_id = ? AND offset <= ?');
      let n = 0;
      for (const row of this.streamsByName.values()) n += del.run(lo, row.id, delivered(row.name)).changes;
      return n;
    }
    return this.db.prepare(`DELETE FROM ${table} WHERE seq < ?`).run(lo).changes;
  }

  onAppend(listener: (appended: Map<string, number>) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    this.listeners.clear();
    if (this.db.open) this.db.close();
  }
}
