/**
 * The reorder window's pending intents in memory, in the order they apply (request time, request
 * id, arrival), and in arrival order for those held past the hold limit. Only what orders them is
 * held; the intent itself is in its batch's journal row, read when taken (src/store/cdc-pending.ts).
 */
export interface PendingEntry {
  /** Arrival order: the last tie-break of the apply order. */
  readonly seq: number;
  readonly timeMs: number;
  readonly requestId: string;
  readonly receivedAt: number;
  readonly resource: string;
  /** The journal row it belongs to, and where its JSON text is in the row's array. */
  readonly batch: PendingBatch;
  readonly index: number;
  start: number;
  end: number;
  /** The intent as JSON text until its row is written (then read from the row when taken). */
  json: string | null;
  taken: boolean;
}

/** Intents that arrived together (one transaction, one arrival time): one row of the journal. */
export interface PendingBatch {
  readonly seq: number;
  readonly receivedAt: number;
  readonly entries: PendingEntry[];
  /** Entries not taken yet. */
  live: number;
}

export function applyOrder(a: PendingEntry, b: PendingEntry): number {
  if (a.timeMs !== b.timeMs) return a.timeMs - b.timeMs;
  if (a.requestId !== b.requestId) return a.requestId < b.requestId ? -1 : 1;
  return a.seq - b.seq;
}

/** Taken entries stay in either structure until they reach its front (lazy deletion). */
export class PendingQueue {
  /** Binary min-heap in apply order. */
  private heap: PendingEntry[] = [];
  /** By arrival time (ascending), consumed from `head`. */
  private arrival: PendingEntry[] = [];
  private head = 0;
  private live = 0;

  get size(): number {
    return this.live;
  }

  add(entry: PendingEntry): void {
    this.push(entry);
    const arrival = this.arrival;
    // Arrival times only go back when the clock does: keep the list sorted anyway.
    if (arrival.length === this.head || arrival[arrival.length - 1]!.receivedAt <= entry.receivedAt) arrival.push(entry);
    else arrival.splice(this.insertionPoint(entry.receivedAt), 0, entry);
    this.live++;
  }

  /** Takes, in apply order, entries up to the first that is not due (`due` false), at most `limit`. */
  takeInOrder(due: (e: PendingEntry) => boolean, limit: number): PendingEntry[] {
    const out: PendingEntry[] = [];
    while (out.length < limit) {
      const top = this.peek();
      if (!top || !due(top)) break;
      this.pop();
      this.take(top);
      out.push(top);
    }
    return out;
  }

  /** Takes, in apply order, up to `limit` entries received at or before `cutoff`, whatever their request time. */
  takeReceivedBy(cutoff: number, limit: number): PendingEntry[] {
    this.skipTakenArrivals();
    const arrival = this.arrival;
    if (this.head === arrival.length || arrival[this.head]!.receivedAt > cutoff) return [];
    // Every pending entry qualifies (the usual case: a drain of everything): the heap has the order.
    if (arrival[arrival.length - 1]!.receivedAt <= cutoff) return this.takeInOrder(() => true, limit);
    const eligible: PendingEntry[] = [];
    for (let i = this.head; i < arrival.length && arrival[i]!.receivedAt <= cutoff; i++) if (!arrival[i]!.taken) eligible.push(arrival[i]!);
    eligible.sort(applyOrder);
    const out = eligible.slice(0, limit);
    for (const e of out) this.take(e);
    return out;
  }

  clear(): void {
    this.heap = [];
    this.arrival = [];
    this.head = 0;
    this.live = 0;
  }

  private take(e: PendingEntry): void {
    e.taken = true;
    e.batch.live--;
    this.live--;
    this.skipTakenArrivals();
  }

  private skipTakenArrivals(): void {
    const arrival = this.arrival;
    while (this.head < arrival.length && arrival[this.head]!.taken) this.head++;
    if (this.head === arrival.length) {
      this.arrival = [];
      this.head = 0;
    } else if (this.head > 4096 && this.head * 2 > arrival.length) {
      this.arrival = arrival.slice(this.head);
      this.head = 0;
    }
  }

  private insertionPoint(receivedAt: number): number {
    let lo = this.head;
    let hi = this.arrival.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.arrival[mid]!.receivedAt <= receivedAt) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The first entry in apply order that is not taken. */
  private peek(): PendingEntry | undefined {
    while (this.heap.length > 0 && this.heap[0]!.taken) this.pop();
    return this.heap[0];
  }

  private push(e: PendingEntry): void {
    const h = this.heap;
    let i = h.length;
    h.push(e);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (applyOrder(h[parent]!, e) <= 0) break;
      h[i] = h[parent]!;
      i = parent;
    }
    h[i] = e;
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop()!;
    const n = h.length;
    if (n === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && applyOrder(h[r]!, h[l]!) < 0 ? r : l;
      if (applyOrder(h[c]!, last) >= 0) break;
      h[i] = h[c]!;
      i = c;
    }
    h[i] = last;
  }
}
