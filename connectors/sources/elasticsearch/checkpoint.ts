/** The checkpoint, committed with each batch as JSON: the sort values of the last document read. */
export interface EsCheckpoint {
  v: 1;
  /** Timestamp (epoch ms) of the last document read: the next poll searches from it minus `lookback`. */
  ts: number;
  /** Its full sort values (timestamp, tiebreaker). */
  sort: unknown[];
  /**
   * `_index/_id` of the documents read with exactly timestamp `ts` (at most a page's worth): the
   * next search starts at `ts` inclusive, and skips these even after a restart.
   */
  atTs: string[];
}

export function parseCheckpoint(text: string | null): EsCheckpoint | null {
  if (!text) return null;
  try {
    const cp = JSON.parse(text) as EsCheckpoint;
    return cp?.v === 1 && typeof cp.ts === 'number' ? { ...cp, atTs: cp.atTs ?? [] } : null;
  } catch {
    return null;
  }
}

/**
 * Documents this process read, by `_index/_id`, with their timestamp: a poll reading the lookback
 * again skips them, so they are not offered to the store each poll (after a restart the store's
 * dedupe window drops them instead). Forgotten once older than the lookback.
 */
export class SeenDocuments {
  private readonly seen = new Map<string, number>();

  has(key: string): boolean {
    return this.seen.has(key);
  }

  add(key: string, ts: number): void {
    this.seen.set(key, ts);
  }

  forgetBefore(ts: number): void {
    for (const [key, at] of this.seen) if (at < ts) this.seen.delete(key);
  }
}
