import type Database from 'better-sqlite3';

/**
 * The first `seq` of `table` whose time is at or after `cutoff`, or null when no row is older.
 * Rows are appended in time order, so a binary search on seq finds it: no time index to keep up.
 */
export function firstSeqAtOrAfter(db: Database.Database, table: 'record_blocks', timeColumn: string, cutoff: number): { first: number } | null {
  const bounds = db.prepare(`SELECT MIN(seq) AS lo, MAX(seq) AS hi FROM ${table}`).get() as { lo: number | null; hi: number | null };
  if (bounds.lo === null || bounds.hi === null) return null;
  const timeAt = db.prepare(`SELECT ${timeColumn} FROM ${table} WHERE seq >= ? ORDER BY seq LIMIT 1`).pluck();
  let lo = bounds.lo;
  let hi = bounds.hi + 1; // first seq whose time is >= cutoff lies in [lo, hi]
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    const t = timeAt.get(mid) as number | undefined;
    if (t !== undefined && t < cutoff) lo = mid + 1;
    else hi = mid;
  }
  return lo <= bounds.lo ? null : { first: lo };
}
