/**
 * A state held in memory, as its stored JSON text (parsed when read: a parsed order state costs
 * about 3x its text on the heap, and most held states are never read again before they are written).
 */
export interface HeldState {
  resource: string;
  key: string;
  json: string | null;
  deleted: boolean;
  version: number;
  timeMs: number;
  requestId: string;
  /**
   * The journal's positions (record block seq, cdc_clock seq) before its first change not yet in
   * cdc_state, and the key range it is listed in: set when it joins the held states, but made with
   * the object (0) so that every state has one shape (fields added later cost a property store each).
   */
  since: number;
  clockSince: number;
  range: number;
}

/** Where the journal was when a transaction put its first state: every record and clock row it adds comes after. */
export interface JournalMark { seq: number; clock: number }

/**
 * Key ranges: a slice writes the held states of one range, in key order, so its rows share the
 * table's pages (random keys cost a page each: 32k random rows flushed one page per key took ~10 µs
 * per row with the commit, in key order ~7). The range count does not change how many rows share
 * a page (that is the held share of the table), only a slice's size: 64 ranges of the 32k held made
 * slices of 700-900 rows, 3-5 ms each (bench d, 100k keys); 256: ~150-250.
 */
const RANGES = 256;
/** New keys remembered for choosing range bounds (the newest, a ring). */
const SAMPLE = 4096;

export interface HeldStatesOptions { ranges?: number; sample?: number }

/**
 * The committed states not yet written to `cdc_state`, oldest first change first (so the first one
 * tells how far back the journal must be replayed), and listed by key range for slices.
 */
export class HeldStates {
  private readonly byKey = new Map<string, HeldState>();
  private ranges: string[][] = [[]];
  /** Sorted lower bounds of ranges 1..n-1 (range 0 takes every key below the first). */
  private bounds: string[] = [];
  private readonly sample: string[] = [];
  private sampled = 0;
  /** The range the next slice writes. */
  private next = 0;
  private readonly rangeCount: number;
  private readonly sampleSize: number;

  constructor(options: HeldStatesOptions = {}) {
    this.rangeCount = options.ranges ?? RANGES;
    this.sampleSize = Math.max(options.sample ?? SAMPLE, this.rangeCount);
  }

  get size(): number {
    return this.byKey.size;
  }

  get(k: string): HeldState | undefined {
    return this.byKey.get(k);
  }

  values(): IterableIterator<HeldState> {
    return this.byKey.values();
  }

  clear(): void {
    this.byKey.clear();
    this.ranges = this.ranges.map(() => []);
  }

  /**
   * The keys of the next range(s) with at least `atLeast` keys in all (fewer if the whole rotation
   * has fewer), each range's in key order; `skip`: ranges already taken in this transaction.
   */
  nextSlice(atLeast: number, skip: Set<number>): { keys: string[]; ranges: number[] } {
    const keys: string[] = [];
    const taken: number[] = [];
    for (let i = 0; i < this.ranges.length && keys.length < atLeast; i++) {
      const r = this.next;
      this.next = (this.next + 1) % this.ranges.length;
      if (this.next === 0 && this.ranges.length === this.rangeCount) this.rebound();
      if (skip.has(r) || this.ranges[r]!.length === 0) continue;
      const sorted = this.ranges[r]!.slice().sort();
      for (const k of sorted) keys.push(k);
      taken.push(r);
    }
    return { keys, ranges: taken };
  }

  /**
   * Once a transaction committed: the states it wrote to cdc_state leave (unless it changed them
   * again after writing), its other states join, keeping the position and journal mark of a key
   * already held.
   */
  commit(writing: Map<string, HeldState>, written: Map<string, HeldState> | null, writtenRanges: number[], mark: JournalMark | null): void {
    if (written) {
      for (const r of writtenRanges) this.ranges[r] = [];
      for (const k of written.keys()) this.byKey.delete(k);
    }
    for (const [k, v] of writing) {
      if (written?.get(k) === v) continue;
      const prev = this.byKey.get(k);
      if (prev) {
        v.since = prev.since;
        v.clockSince = prev.clockSince;
        v.range = prev.range;
      } else {
        v.since = mark!.seq;
        v.clockSince = mark!.clock;
        v.range = this.rangeOf(k);
        this.ranges[v.range]!.push(k);
        this.sample[this.sampled++ % this.sampleSize] = k;
      }
      this.byKey.set(k, v);
      // Relisting reads the held states: after this one joined.
      if (this.ranges.length !== this.rangeCount && this.sampled === this.sampleSize) this.rebound(true);
    }
  }

  /** The oldest held state that `written` does not hold: its marks are where replay must start. */
  oldest(written: Map<string, HeldState> | null): HeldState | undefined {
    for (const [k, v] of this.byKey) if (!written?.has(k)) return v;
    return undefined;
  }

  private rangeOf(k: string): number {
    let lo = 0;
    let hi = this.bounds.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.bounds[mid]! <= k) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * New range bounds from the sample of new keys, at the end of each rotation (keys already listed
   * stay in their range: a range is a heuristic for locality, not a rule). The first time (at a
   * commit: a transaction's slices name ranges of the layout they were taken from), the keys held
   * so far are listed again by the new bounds.
   */
  private rebound(relist = false): void {
    const n = Math.min(this.sampled, this.sampleSize);
    const sorted = this.sample.slice(0, n).sort();
    this.bounds = Array.from({ length: this.rangeCount - 1 }, (_, i) => sorted[Math.floor(((i + 1) * n) / this.rangeCount)]!);
    if (!relist) return;
    this.ranges = Array.from({ length: this.rangeCount }, () => []);
    for (const [k, v] of this.byKey) {
      v.range = this.rangeOf(k);
      this.ranges[v.range]!.push(k);
    }
  }
}
