import type Database from 'better-sqlite3';
import { encodeBlock } from '../record-block.js';
import { CDC_FLUSHED_SEQ } from './cdc-write-behind.js';

/**
 * The event log in blocks, and the dedupe window in one b-tree (store migration 7): records of one stream appended in one transaction
 * are one row, their JSON compressed together (src/store/record-block.ts). `seq` orders blocks by
 * append time, as it ordered records; `appended_at` is the time the block was written, at or
 * after each of its records'.
 */
export function recordBlocks(db: Database.Database): void {
  db.exec(`
CREATE TABLE record_blocks (
  seq INTEGER PRIMARY KEY,
  stream_id INTEGER NOT NULL,
  first_offset INTEGER NOT NULL,
  last_offset INTEGER NOT NULL,
  record_count INTEGER NOT NULL,
  appended_at INTEGER NOT NULL,
  codec INTEGER NOT NULL,
  body BLOB NOT NULL
);
CREATE UNIQUE INDEX record_blocks_by_stream ON record_blocks(stream_id, last_offset);
`);
  convertRecords(db);
  dedupeKeys(db);
  // Emptied, not dropped: nothing reads them any more. (Dropping them would put their pages on the
  // freelist, where the unit test that fills a store to its page limit finds room to spare.)
  db.exec('DELETE FROM records; DELETE FROM dedupe;');
}

/**
 * The dedupe window in one b-tree keyed by the request key (the old table had a rowid b-tree and a
 * unique index on the key: two inserts and twice the bytes per ingested entry).
 */
function dedupeKeys(db: Database.Database): void {
  db.exec(`
CREATE TABLE dedupe_keys (request_key TEXT PRIMARY KEY, seen_at INTEGER NOT NULL) WITHOUT ROWID;
INSERT INTO dedupe_keys(request_key, seen_at) SELECT request_key, seen_at FROM dedupe;
`);
}

interface OldRecord { seq: number; stream_id: number; offset: number; key: string | null; value: string; appended_at: number }

/** Records per read of the old table: memory stays bounded on a large store. */
const CHUNK = 5000;
/** Records of a stream within this many ms of each other share a block. */
const SPAN_MS = 1000;
const MAX_RECORDS = 1000;

/**
 * Moves every row of `records` into blocks, in seq order: a stream's records share a block while
 * they were appended within SPAN_MS of the first open block's first record; every block closes at a gap that long, so block
 * seq still follows time. The CDC write-behind mark (a records.seq) becomes the seq of the last
 * block holding only records up to it: blocks never straddle it, and replay at open stays exact.
 */
function convertRecords(db: Database.Database): void {
  const mark = Number(db.prepare('SELECT value FROM meta WHERE key = ?').pluck().get(CDC_FLUSHED_SEQ) ?? 0);
  const read = db.prepare('SELECT seq, stream_id, offset, key, value, appended_at FROM records WHERE seq > ? ORDER BY seq LIMIT ?');
  const insert = db.prepare(
    'INSERT INTO record_blocks(stream_id, first_offset, last_offset, record_count, appended_at, codec, body) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  const open = new Map<number, { records: OldRecord[] }>();
  let newestTime = 0;
  let newMark = 0;
  const close = (streamId: number) => {
    const block = open.get(streamId)!;
    open.delete(streamId);
    const r = block.records;
    const { codec, body } = encodeBlock(r[0]!.offset, r.map((x) => x.offset), r.map((x) => x.key), r.map((x) => x.value));
    insert.run(streamId, r[0]!.offset, r.at(-1)!.offset, r.length, newestTime, codec, body);
  };
  const closeAll = () => {
    for (const id of [...open.keys()]) close(id);
  };
  /** Append time of the first record of the open blocks. */
  let since = 0;
  let after = 0;
  let markPassed = mark === 0;
  for (;;) {
    const rows = read.all(after, CHUNK) as OldRecord[];
    for (const r of rows) {
      if (!markPassed && r.seq > mark) {
        closeAll();
        newMark = Number(db.prepare('SELECT COALESCE(MAX(seq), 0) FROM record_blocks').pluck().get());
        markPassed = true;
      }
      if (open.size > 0 && r.appended_at - since > SPAN_MS) closeAll();
      if (open.size === 0) since = r.appended_at;
      newestTime = Math.max(newestTime, r.appended_at);
      let block = open.get(r.stream_id);
      if (!block) open.set(r.stream_id, (block = { records: [] }));
      block.records.push(r);
      if (block.records.length >= MAX_RECORDS) close(r.stream_id);
    }
    if (rows.length < CHUNK) break;
    after = rows.at(-1)!.seq;
  }
  closeAll();
  if (!markPassed) newMark = Number(db.prepare('SELECT COALESCE(MAX(seq), 0) FROM record_blocks').pluck().get());
  if (mark > 0) db.prepare('UPDATE meta SET value = ? WHERE key = ?').run(String(newMark), CDC_FLUSHED_SEQ);
}
