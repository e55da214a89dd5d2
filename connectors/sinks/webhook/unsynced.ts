import type Database from 'better-sqlite3';

const NORMAL = 1;

/**
 * Runs a transaction of the webhook bookkeeping without waiting for fsync (synchronous NORMAL for
 * this commit only, in WAL mode). Nothing is acknowledged on the strength of these rows: a fan-out
 * lost to a power cut is fanned out again (its cursor is in the same transaction), a lost outcome is
 * sent again (at least once, as after any crash), and a kill -9 loses nothing (the WAL is written
 * before the commit returns). Under load an fsync per settled batch kept the event loop blocked on
 * the disk for about half of every delivery (bench f).
 */
export function unsynced<A extends unknown[], R>(db: Database.Database, tx: (...args: A) => R): (...args: A) => R {
  return (...args: A): R => {
    const level = db.inTransaction ? NORMAL : (db.pragma('synchronous', { simple: true }) as number);
    if (level <= NORMAL) return tx(...args);
    db.pragma('synchronous = NORMAL');
    try {
      return tx(...args);
    } finally {
      db.pragma(`synchronous = ${level}`);
    }
  };
}
