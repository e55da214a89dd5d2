import type Database from 'better-sqlite3';
import type { StoreDatabase } from './database.js';
import { guardStoreErrors } from './sqlite-open.js';
import type { DeadLetter, DeadLetterWrite, UnmatchedCount } from './types.js';

/** What ingest remembers besides the log: dedupe window, dead letters, unmatched routes, source checkpoints. */
export interface IngestLedger {
  /** Which of these request keys were already committed inside the dedupe window. */
  seen(requestKeys: string[]): Set<string>;
  /** Remembers a request key; false when it is in the window already (a re-sent entry). */
  claim(requestKey: string, now: number): boolean;
  addDeadLetter(d: DeadLetterWrite, now: number): void;
  removeDeadLetter(id: number): void;
  deadLetters(afterId: number, limit: number): DeadLetter[];
  deadLetter(id: number): DeadLetter | null;
  countUnmatched(u: { label: string; method: string; path: string; hint?: string }, now: number): void;
  unmatched(): UnmatchedCount[];
  getCheckpoint(source: string): string | null;
  setCheckpoint(source: string, value: string, now: number): void;
  /** Forgets request keys seen before `cutoff` (ms). */
  pruneDedupe(cutoff: number): number;
}

/** Keys per dedupe lookup (SQLite allows up to 32766 parameters). */
const SEEN_CHUNK = 500;

interface DeadLetterRow { id: number; time: number; source: string; request_key: string; diagnostic: string; record: string }
interface UnmatchedRow { label: string; count: number; last_method: string; last_path: string; last_seen: number; last_hint: string | null }

export class SqliteIngestLedger implements IngestLedger {
  private readonly db: Database.Database;
  private readonly seenStatements = new Map<number, Database.Statement>();
  private readonly stmt;

  constructor(database: StoreDatabase) {
    guardStoreErrors(this, database.path);
    const db = (this.db = database.db);
    this.stmt = {
      insertDedupe: db.prepare('INSERT OR IGNORE INTO dedupe_keys(request_key, seen_at) VALUES (?, ?)'),
      // Keys that start with their request time (src/pipeline/ingest.ts dedupeKeyOf) sort by it: those
      // of requests before the cutoff are one range of the b-tree; other keys (no time) sort after ':'.
      pruneTimed: db.prepare('DELETE FROM dedupe_keys WHERE request_key < ? AND seen_at < ?'),
      pruneUntimed: db.prepare("DELETE FROM dedupe_keys WHERE request_key >= ':' AND seen_at < ?"),
      insertDeadLetter: db.prepare('INSERT INTO dead_letters(time, source, request_key, diagnostic, record) VALUES (?, ?, ?, ?, ?)'),
      deleteDeadLetter: db.prepare('DELETE FROM dead_letters WHERE id = ?'),
      readDeadLetter: db.prepare('SELECT id, time, source, request_key, diagnostic, record FROM dead_letters WHERE id = ?'),
      readDeadLetters: db.prepare('SELECT id, time, source, request_key, diagnostic, record FROM dead_letters WHERE id > ? ORDER BY id LIMIT ?'),
      upsertUnmatched: db.prepare(
        `INSERT INTO unmatched(label, count, last_method, last_path, last_seen, last_hint) VALUES (?, 1, ?, ?, ?, ?)
         ON CONFLICT(label) DO UPDATE SET count = count + 1, last_method = excluded.last_method,
           last_path = excluded.last_path, last_seen = excluded.last_seen, last_hint = excluded.last_hint`,
      ),
      listUnmatched: db.prepare('SELECT label, count, last_method, last_path, last_seen, last_hint FROM unmatched ORDER BY count DESC, label'),
      upsertCheckpoint: db.prepare(
        `INSERT INTO checkpoints(source, value, updated_at) VALUES (?, ?, ?)
         ON CONFLICT(source) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
      ),
      selectCheckpoint: db.prepare('SELECT value FROM checkpoints WHERE source = ?').pluck(),
    };
  }

  seen(requestKeys: string[]): Set<string> {
    const out = new Set<string>();
    // One statement per chunk instead of one per key; statements are cached by chunk size.
    for (let i = 0; i < requestKeys.length; i += SEEN_CHUNK) {
      const chunk = requestKeys.slice(i, i + SEEN_CHUNK);
      let stmt = this.seenStatements.get(chunk.length);
      if (!stmt) {
        stmt = this.db.prepare(`SELECT request_key FROM dedupe_keys WHERE request_key IN (${chunk.map(() => '?').join(',')})`).pluck();
        this.seenStatements.set(chunk.length, stmt);
      }
      for (const k of stmt.all(...chunk) as string[]) out.add(k);
    }
    return out;
  }

  claim(requestKey: string, now: number): boolean {
    return this.stmt.insertDedupe.run(requestKey, now).changes > 0;
  }

  addDeadLetter(d: DeadLetterWrite, now: number): void {
    this.stmt.insertDeadLetter.run(now, d.source, d.requestKey, JSON.stringify(d.diagnostic), JSON.stringify(d.record) ?? 'null');
  }

  removeDeadLetter(id: number): void {
    this.stmt.deleteDeadLetter.run(id);
  }

  deadLetter(id: number): DeadLetter | null {
    const row = this.stmt.readDeadLetter.get(id) as DeadLetterRow | undefined;
    return row ? toDeadLetter(row) : null;
  }

  deadLetters(afterId: number, limit: number): DeadLetter[] {
    return (this.stmt.readDeadLetters.all(afterId, limit) as DeadLetterRow[]).map(toDeadLetter);
  }

  countUnmatched(u: { label: string; method: string; path: string; hint?: string }, now: number): void {
    this.stmt.upsertUnmatched.run(u.label, u.method, u.path, now, u.hint ?? null);
  }

  unmatched(): UnmatchedCount[] {
    return (this.stmt.listUnmatched.all() as UnmatchedRow[]).map((r) => ({
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

  setCheckpoint(source: string, value: string, now: number): void {
    this.stmt.upsertCheckpoint.run(source, value, now);
  }

  /**
   * A key seen before `cutoff` has, unless its request time is later than its arrival (a gateway's
   * clock ahead), a request time before it too: the timed keys pruned are one range of the key
   * order, not a scan of the whole window. A key with a request time in the future stays until then.
   */
  pruneDedupe(cutoff: number): number {
    const before = `${Math.max(0, cutoff).toString(36).padStart(9, '0')}|`;
    return this.db.transaction(() => this.stmt.pruneTimed.run(before, cutoff).changes + this.stmt.pruneUntimed.run(cutoff).changes)();
  }
}

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
