import type Database from 'better-sqlite3';
import type { StreamRecord } from '../model/records.js';
import { changeFromStored, changeJsonFromStored } from '../cdc/stored-change.js';
import type { StoreDatabase } from './database.js';
import { guardStoreErrors } from './sqlite-open.js';
import { firstSeqAtOrAfter } from './prune.js';
import type { ConsumerOffset, StreamSummary } from './types.js';

/** A record of the log with its value as stored JSON text: `JSON.parse(json)` is read()'s `value`. */
export interface StoredRecord {
  stream: string;
  offset: number;
  key: string | null;
  json: string;
}

/** Streams and their records: append, read, retention. */
export interface EventLog {
  ensureStreams(streams: Array<{ name: string; kind: 'events' | 'changelog' }>): void;
  /** Appends inside the running `StoreDatabase.transaction`; returns the record's offset. */
  append(stream: string, key: string | null, value: unknown, json?: string): number;
  read(stream: string, afterOffset: number, limit: number): StreamRecord[];
  streams(): StreamSummary[];
  /** Names only, from memory: cheap enough for every batch. */
  streamNames(): string[];
  hasStream(stream: string): boolean;
  /** The first offset of `stream` appended at or after `timeMs`, or null when there is none. */
  firstOffsetSince(stream: string, timeMs: number): number | null;
  lastOffset(stream: string): number;
  getConsumerOffset(stream: string, consumer: string): number | null;
  setConsumerOffset(stream: string, consumer: string, offset: number): void;
  consumerOffsets(stream: string): ConsumerOffset[];
  /**
   * Drops records appended before `cutoff` (ms); records past `delivered(stream)` stay whatever
   * their age, so retention never drops what a sink still has to send.
   */
  pruneBefore(cutoff: number, delivered?: (stream: string) => number): number;
  /** Called after every transaction that appended records, with the last offset per stream. */
  onAppend(listener: (appended: Map<string, number>) => void): () => void;
}

/** Beside EventLog.read: the read path of sinks that send JSON on. */
export interface StoredJsonReader {
  /**
   * The records read() returns, each value as the full JSON text of the record (never parsed here),
   * for sinks that send it on as it is: the Kafka sink's change records, structured events.
   */
  readJson(stream: string, afterOffset: number, limit: number): StoredRecord[];
}

interface StreamRow { id: number; name: string; kind: 'events' | 'changelog' }

/** The event log over the store's database; this process is its only writer. */
export class SqliteEventLog implements EventLog, StoredJsonReader {
  private readonly db: Database.Database;
  private readonly streamsByName = new Map<string, StreamRow>();
  /** Last assigned offset per stream id. */
  private readonly lastOffsets = new Map<number, number>();
  private readonly listeners = new Set<(appended: Map<string, number>) => void>();
  /** Offsets and streams assigned inside the running transaction, applied to the caches only after it commits. */
  private pendingOffsets = new Map<number, number>();
  private pendingStreams: string[] = [];
  private appended = new Map<string, number>();
  private readonly stmt;

  constructor(database: StoreDatabase, private readonly now: () => number) {
    guardStoreErrors(this, database.path);
    const db = (this.db = database.db);
    this.stmt = {
      insertStream: db.prepare('INSERT INTO streams(name, kind) VALUES (?, ?)'),
      insertRecord: db.prepare('INSERT INTO records(stream_id, offset, key, value, appended_at) VALUES (?, ?, ?, ?, ?)'),
      readRecords: db.prepare('SELECT offset, key, value FROM records WHERE stream_id = ? AND offset > ? ORDER BY offset LIMIT ?'),
      streamStats: db.prepare('SELECT MIN(offset) AS first, COUNT(*) AS count FROM records WHERE stream_id = ?'),
      firstSince: db.prepare('SELECT MIN(offset) AS o FROM records WHERE stream_id = ? AND appended_at >= ?'),
      selectConsumer: db.prepare('SELECT offset FROM consumer_offsets WHERE stream_id = ? AND consumer = ?').pluck(),
      upsertConsumer: db.prepare(
        `INSERT INTO consumer_offsets(stream_id, consumer, offset, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT(stream_id, consumer) DO UPDATE SET offset = excluded.offset, updated_at = excluded.updated_at`,
      ),
      listConsumers: db.prepare('SELECT consumer, offset, updated_at FROM consumer_offsets WHERE stream_id = ? ORDER BY consumer'),
    };
    for (const row of db.prepare('SELECT id, name, kind FROM streams').all() as StreamRow[]) this.streamsByName.set(row.name, row);
    for (const row of db.prepare('SELECT stream_id AS id, MAX(offset) AS last FROM records GROUP BY stream_id').all() as Array<{ id: number; last: number }>) {
      this.lastOffsets.set(row.id, row.last);
    }
    database.addHooks({ committed: () => this.committed(), rolledBack: () => this.rolledBack() });
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

  append(streamName: string, key: string | null, value: unknown, json?: string): number {
    const known = this.streamsByName.has(streamName);
    const stream = this.streamRow(streamName);
    if (!known) this.pendingStreams.push(streamName);
    const offset = (this.pendingOffsets.get(stream.id) ?? this.lastOffsets.get(stream.id) ?? 0) + 1;
    this.pendingOffsets.set(stream.id, offset);
    this.stmt.insertRecord.run(stream.id, offset, key, json ?? JSON.stringify(value), this.now());
    this.appended.set(streamName, offset);
    return offset;
  }

  private committed(): void {
    for (const [id, offset] of this.pendingOffsets) this.lastOffsets.set(id, offset);
    const appended = this.appended;
    this.reset();
    if (appended.size > 0) for (const l of this.listeners) l(appended);
  }

  private rolledBack(): void {
    // The streams this transaction created are gone with it.
    for (const name of this.pendingStreams) this.streamsByName.delete(name);
    this.reset();
  }

  private reset(): void {
    if (this.pendingOffsets.size > 0) this.pendingOffsets = new Map();
    if (this.pendingStreams.length > 0) this.pendingStreams = [];
    if (this.appended.size > 0) this.appended = new Map();
  }

  read(stream: string, afterOffset: number, limit: number): StreamRecord[] {
    const row = this.streamsByName.get(stream);
    if (!row) return [];
    const rows = this.stmt.readRecords.all(row.id, afterOffset, limit) as Array<{ offset: number; key: string | null; value: string }>;
    if (row.kind === 'changelog') return rows.map((r) => ({ stream, offset: r.offset, key: r.key, value: changeFromStored(r.key, JSON.parse(r.value)) }));
    return rows.map((r) => ({ stream, offset: r.offset, key: r.key, value: JSON.parse(r.value) as unknown }));
  }

  readJson(stream: string, afterOffset: number, limit: number): StoredRecord[] {
    const row = this.streamsByName.get(stream);
    if (!row) return [];
    const rows = this.stmt.readRecords.all(row.id, afterOffset, limit) as Array<{ offset: number; key: string | null; value: string }>;
    const out = new Array<StoredRecord>(rows.length);
    const changelog = row.kind === 'changelog';
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i]!;
      // A change record is stored without its before (src/cdc/stored-change.ts): sent on in full.
      out[i] = { stream, offset: r.offset, key: r.key, json: changelog ? changeJsonFromStored(r.key, r.value) : r.value };
    }
    return out;
  }

  firstOffsetSince(stream: string, timeMs: number): number | null {
    const row = this.streamsByName.get(stream);
    if (!row) return null;
    return (this.stmt.firstSince.get(row.id, timeMs) as { o: number | null }).o;
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

  pruneBefore(cutoff: number, delivered?: (stream: string) => number): number {
    const bounds = firstSeqAtOrAfter(this.db, 'records', 'appended_at', cutoff);
    if (!bounds) return 0;
    if (delivered) {
      const del = this.db.prepare('DELETE FROM records WHERE seq < ? AND stream_id = ? AND offset <= ?');
      let n = 0;
      for (const row of this.streamsByName.values()) n += del.run(bounds.first, row.id, delivered(row.name)).changes;
      return n;
    }
    return this.db.prepare('DELETE FROM records WHERE seq < ?').run(bounds.first).changes;
  }

  onAppend(listener: (appended: Map<string, number>) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    this.listeners.clear();
  }
}
