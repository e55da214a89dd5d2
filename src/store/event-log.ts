import type Database from 'better-sqlite3';
import type { StreamRecord } from '../model/records.js';
import { changeFromStored, changeJsonFromStored } from '../cdc/stored-change.js';
import type { StoreDatabase } from './database.js';
import { guardStoreErrors } from './sqlite-open.js';
import { firstSeqAtOrAfter } from './prune.js';
import { BlockCache } from './block-cache.js';
import { decodeBlock, encodeBlock, firstIndexAfter, type RecordBlock } from './record-block.js';
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
  /** When the record after `offset` was appended (ms; its block's time), null when there is none. */
  appendedAfter(stream: string, offset: number): number | null;
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

/** Records of one stream appended in the running transaction, not yet written as a block. */
interface Buffered { offsets: number[]; keys: Array<string | null>; values: string[]; chars: number }

interface BlockRow { seq: number; first_offset: number; last_offset: number }

/**
 * A block closes at this many records or characters of JSON (a large transaction writes several):
 * bounded memory per transaction, and a reader starting mid-block inflates at most this much.
 */
const BLOCK_RECORDS = 1000;
const BLOCK_CHARS = 512 * 1024;
/** Blocks read per query while paging; most pages need one or two. */
const BLOCKS_PER_QUERY = 16;
/** Decompressed blocks kept for readers (characters of JSON, about bytes). */
const CACHE_CHARS = 8 * 1024 * 1024;

/**
 * The event log over the store's database; this process is its only writer. Records live in
 * `record_blocks` (src/store/record-block.ts): append() buffers per stream, and each stream's
 * records become one block just before the transaction commits.
 */
export class SqliteEventLog implements EventLog, StoredJsonReader {
  private readonly db: Database.Database;
  private readonly path: string;
  private readonly streamsByName = new Map<string, StreamRow>();
  /** Last assigned offset per stream id. */
  private readonly lastOffsets = new Map<number, number>();
  private readonly listeners = new Set<(appended: Map<string, number>) => void>();
  /** Offsets and streams assigned inside the running transaction, applied to the caches only after it commits. */
  private pendingOffsets = new Map<number, number>();
  private pendingStreams: string[] = [];
  private appended = new Map<string, number>();
  /** Appended records not yet in a block, by stream id. */
  private buffered = new Map<number, Buffered>();
  private readonly cache = new BlockCache(CACHE_CHARS);
  private readonly stmt;

  constructor(database: StoreDatabase, private readonly now: () => number) {
    guardStoreErrors(this, database.path);
    this.path = database.path;
    const db = (this.db = database.db);
    this.stmt = {
      insertStream: db.prepare('INSERT INTO streams(name, kind) VALUES (?, ?)'),
      insertBlock: db.prepare(
        'INSERT INTO record_blocks(stream_id, first_offset, last_offset, record_count, appended_at, codec, body) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      blocksAfter: db.prepare('SELECT seq, first_offset, last_offset FROM record_blocks WHERE stream_id = ? AND last_offset > ? ORDER BY last_offset LIMIT ?'),
      blockBody: db.prepare('SELECT codec, body FROM record_blocks WHERE seq = ?'),
      streamStats: db.prepare('SELECT MIN(first_offset) AS first, COALESCE(SUM(record_count), 0) AS count FROM record_blocks WHERE stream_id = ?'),
      appendedAfter: db.prepare('SELECT appended_at FROM record_blocks WHERE stream_id = ? AND last_offset > ? ORDER BY last_offset LIMIT 1').pluck(),
      firstSince: db.prepare('SELECT MIN(first_offset) AS o FROM record_blocks WHERE stream_id = ? AND appended_at >= ?'),
      selectConsumer: db.prepare('SELECT offset FROM consumer_offsets WHERE stream_id = ? AND consumer = ?').pluck(),
      upsertConsumer: db.prepare(
        `INSERT INTO consumer_offsets(stream_id, consumer, offset, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT(stream_id, consumer) DO UPDATE SET offset = excluded.offset, updated_at = excluded.updated_at`,
      ),
      listConsumers: db.prepare('SELECT consumer, offset, updated_at FROM consumer_offsets WHERE stream_id = ? ORDER BY consumer'),
    };
    for (const row of db.prepare('SELECT id, name, kind FROM streams').all() as StreamRow[]) this.streamsByName.set(row.name, row);
    for (const row of db.prepare('SELECT stream_id AS id, MAX(last_offset) AS last FROM record_blocks GROUP BY stream_id').all() as Array<{ id: number; last: number }>) {
      this.lastOffsets.set(row.id, row.last);
    }
    database.addHooks({ beforeCommit: () => this.writeBuffered(), committed: () => this.committed(), rolledBack: () => this.rolledBack() });
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
    // Refused here, inside the caller's savepoint, as the INSERT of a row used to refuse it.
    const text = json ?? JSON.stringify(value);
    if (typeof text !== 'string') throw new Error(`${this.path}: a record of stream ${streamName} has no JSON value (${String(value)})`);
    const known = this.streamsByName.has(streamName);
    const stream = this.streamRow(streamName);
    if (!known) this.pendingStreams.push(streamName);
    const offset = (this.pendingOffsets.get(stream.id) ?? this.lastOffsets.get(stream.id) ?? 0) + 1;
    this.pendingOffsets.set(stream.id, offset);
    let buf = this.buffered.get(stream.id);
    if (!buf) this.buffered.set(stream.id, (buf = { offsets: [], keys: [], values: [], chars: 0 }));
    buf.offsets.push(offset);
    buf.keys.push(key);
    buf.values.push(text);
    buf.chars += text.length;
    // Outside a transaction nothing would write the buffer: the record is written at once, as before.
    if (buf.offsets.length >= BLOCK_RECORDS || buf.chars >= BLOCK_CHARS || !this.db.inTransaction) this.writeBlock(stream.id);
    this.appended.set(streamName, offset);
    return offset;
  }

  /** Writes a stream's buffered records as one block (in the running transaction). */
  private writeBlock(streamId: number): void {
    const buf = this.buffered.get(streamId);
    if (!buf) return;
    this.buffered.delete(streamId);
    const first = buf.offsets[0]!;
    const last = buf.offsets.at(-1)!;
    const { codec, body } = encodeBlock(first, buf.offsets, buf.keys, buf.values);
    // Not put into the block cache here: that held the strings of every block written (live-keys child: +30-50 MiB peak RSS).
    this.stmt.insertBlock.run(streamId, first, last, buf.offsets.length, this.now(), codec, body);
  }

  private writeBuffered(): void {
    for (const id of [...this.buffered.keys()]) this.writeBlock(id);
  }

  private committed(): void {
    for (const [id, offset] of this.pendingOffsets) this.lastOffsets.set(id, offset);
    const appended = this.appended;
    this.reset();
    if (appended.size > 0) for (const l of this.listeners) l(appended);
  }

  private rolledBack(): void {
    // The streams this transaction created are gone with it, and so are its blocks (whose seqs will be used again).
    for (const name of this.pendingStreams) this.streamsByName.delete(name);
    this.cache.clear();
    this.reset();
  }

  private reset(): void {
    if (this.pendingOffsets.size > 0) this.pendingOffsets = new Map();
    if (this.pendingStreams.length > 0) this.pendingStreams = [];
    if (this.appended.size > 0) this.appended = new Map();
    if (this.buffered.size > 0) this.buffered = new Map();
  }

  /**
   * Visits the records of `stream` past `afterOffset`, in offset order, until `limit` were visited:
   * `visit(block, index)` for each. Blocks come from the cache, else are read and inflated once.
   */
  private scan(row: StreamRow, afterOffset: number, limit: number, visit: (block: RecordBlock, index: number) => void): void {
    // A read inside the transaction that appended sees its records, as it did when each was a row.
    if (this.buffered.has(row.id)) this.writeBlock(row.id);
    let after = afterOffset;
    let left = limit;
    while (left > 0) {
      const rows = this.stmt.blocksAfter.all(row.id, after, Math.min(BLOCKS_PER_QUERY, left)) as BlockRow[];
      for (const b of rows) {
        const block = this.block(b);
        for (let i = firstIndexAfter(block, after); i < block.offsets.length && left > 0; i++, left--) visit(block, i);
        after = b.last_offset;
        if (left === 0) return;
      }
      if (rows.length < Math.min(BLOCKS_PER_QUERY, left)) return;
    }
  }

  private block(b: BlockRow): RecordBlock {
    const cached = this.cache.get(b.seq);
    if (cached) return cached;
    const stored = this.stmt.blockBody.get(b.seq) as { codec: number; body: Buffer };
    const block = decodeBlock(b.first_offset, stored.codec, stored.body, `${this.path}: record block ${b.seq}`);
    let chars = 0;
    for (const v of block.values) chars += v.length;
    this.cache.set(b.seq, block, chars);
    return block;
  }

  read(stream: string, afterOffset: number, limit: number): StreamRecord[] {
    const row = this.streamsByName.get(stream);
    if (!row) return [];
    const out: StreamRecord[] = [];
    if (row.kind === 'changelog') {
      this.scan(row, afterOffset, limit, (b, i) => out.push({ stream, offset: b.offsets[i]!, key: b.keys[i]!, value: changeFromStored(b.keys[i]!, JSON.parse(b.values[i]!)) }));
    } else {
      this.scan(row, afterOffset, limit, (b, i) => out.push({ stream, offset: b.offsets[i]!, key: b.keys[i]!, value: JSON.parse(b.values[i]!) as unknown }));
    }
    return out;
  }

  readJson(stream: string, afterOffset: number, limit: number): StoredRecord[] {
    const row = this.streamsByName.get(stream);
    if (!row) return [];
    const out: StoredRecord[] = [];
    // A change record is stored without its before (src/cdc/stored-change.ts): sent on in full.
    if (row.kind === 'changelog') this.scan(row, afterOffset, limit, (b, i) => out.push({ stream, offset: b.offsets[i]!, key: b.keys[i]!, json: changeJsonFromStored(b.keys[i]!, b.values[i]!) }));
    else this.scan(row, afterOffset, limit, (b, i) => out.push({ stream, offset: b.offsets[i]!, key: b.keys[i]!, json: b.values[i]! }));
    return out;
  }

  firstOffsetSince(stream: string, timeMs: number): number | null {
    const row = this.streamsByName.get(stream);
    if (!row) return null;
    return (this.stmt.firstSince.get(row.id, timeMs) as { o: number | null }).o;
  }

  appendedAfter(stream: string, offset: number): number | null {
    const row = this.streamsByName.get(stream);
    if (!row) return null;
    return (this.stmt.appendedAfter.get(row.id, offset) as number | undefined) ?? null;
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
    const bounds = firstSeqAtOrAfter(this.db, 'record_blocks', 'appended_at', cutoff);
    if (!bounds) return 0;
    const pruned = this.db.transaction(() => {
      if (!delivered) return this.dropBlocks('seq < ?', bounds.first);
      let n = 0;
      for (const row of this.streamsByName.values()) {
        const upTo = delivered(row.name);
        n += this.dropBlocks('seq < ? AND stream_id = ? AND last_offset <= ?', bounds.first, row.id, upTo);
        n += this.trimBlock(bounds.first, row.id, upTo);
      }
      return n;
    })();
    return pruned;
  }

  /** Deletes the blocks `where` selects; returns how many records they held. */
  private dropBlocks(where: string, ...params: number[]): number {
    const gone = this.db.prepare(`DELETE FROM record_blocks WHERE ${where} RETURNING seq, record_count`).all(...params) as Array<{ seq: number; record_count: number }>;
    let n = 0;
    for (const g of gone) {
      this.cache.delete(g.seq);
      n += g.record_count;
    }
    return n;
  }

  /**
   * Retention is by record, not by block: the block past retention that holds the last delivered
   * record keeps only the records after it (stored again without the others).
   */
  private trimBlock(beforeSeq: number, streamId: number, upTo: number): number {
    const b = this.db.prepare('SELECT seq, first_offset, last_offset FROM record_blocks WHERE seq < ? AND stream_id = ? AND first_offset <= ? AND last_offset > ?')
      .get(beforeSeq, streamId, upTo, upTo) as BlockRow | undefined;
    if (!b) return 0;
    const block = this.block(b);
    const from = firstIndexAfter(block, upTo);
    const offsets = block.offsets.slice(from);
    const { codec, body } = encodeBlock(offsets[0]!, offsets, block.keys.slice(from), block.values.slice(from));
    this.db.prepare('UPDATE record_blocks SET first_offset = ?, record_count = ?, codec = ?, body = ? WHERE seq = ?').run(offsets[0]!, offsets.length, codec, body, b.seq);
    this.cache.delete(b.seq);
    return from;
  }

  onAppend(listener: (appended: Map<string, number>) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    this.listeners.clear();
    this.cache.clear();
  }
}
