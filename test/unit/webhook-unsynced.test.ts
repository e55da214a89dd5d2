import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { unsynced } from '../../connectors/sinks/webhook/unsynced.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function fullStore() {
  const dir = mkdtempSync(join(tmpdir(), 'reflex-unsynced-'));
  dirs.push(dir);
  const db = new Database(join(dir, 'store.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('CREATE TABLE t (n INTEGER)');
  return db;
}
const level = (db: Database.Database) => db.pragma('synchronous', { simple: true });

describe('webhook bookkeeping transactions without fsync', () => {
  it('commit with synchronous NORMAL and give the store its FULL back, also when the transaction throws', () => {
    const db = fullStore();
    const seen: unknown[] = [];
    const insert = unsynced(db, db.transaction((n: number) => {
      seen.push(level(db));
      db.prepare('INSERT INTO t VALUES (?)').run(n);
      if (n < 0) throw new Error('refused');
      return n;
    }));
    expect(insert(1)).toBe(1);
    expect(() => insert(-1)).toThrow('refused');
    expect(seen).toEqual([1, 1]);
    expect(level(db)).toBe(2);
    expect(db.prepare('SELECT n FROM t').pluck().all()).toEqual([1]);
    db.close();
  });

  it('leave the level alone inside a running transaction (SQLite applies it per connection, not per savepoint)', () => {
    const db = fullStore();
    const inner = unsynced(db, () => level(db));
    expect(db.transaction(() => inner())()).toBe(2);
    expect(level(db)).toBe(2);
    db.close();
  });
});
