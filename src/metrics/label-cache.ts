import type { Counter } from 'prom-client';
import { OTHER_LABEL } from './bounded-labels.js';

interface Slot {
  inc(n: number): void;
  pending: number;
}

/**
 * A counter's children (one per label set, resolved once: prom-client hashes the labels on every
 * call otherwise) with what a batch added to each, handed to prom-client once per set at flush().
 * For counters of one or two labels; no allocation once a label set was seen.
 */
export class LabelCache {
  private readonly slots = new Map<string, Slot | Map<string, Slot>>();
  private readonly dirty: Slot[] = [];
  private series = 0;

  /**
   * `limit`: for label values that come from outside (a published event's type), at most this many
   * label sets get a series of their own; later ones count under their last label `other`.
   */
  constructor(private readonly counter: Counter<string>, private readonly limit = Number.POSITIVE_INFINITY) {}

  add(a: string, n?: number): void;
  add(a: string, b: string, n?: number): void;
  add(a: string, b?: string | number, n = 1): void {
    let slot: Slot;
    if (typeof b === 'string') {
      let inner = this.slots.get(a) as Map<string, Slot> | undefined;
      if (!inner) this.slots.set(a, (inner = new Map()));
      slot = inner.get(b) ?? this.resolve(inner, b, [a, b]);
    } else {
      if (b !== undefined) n = b;
      slot = (this.slots.get(a) as Slot | undefined) ?? this.resolve(this.slots as Map<string, Slot>, a, [a]);
    }
    if (slot.pending === 0) this.dirty.push(slot);
    slot.pending += n;
  }

  /** Adds what was gathered since the last flush to the counter. */
  flush(): void {
    for (const slot of this.dirty) {
      slot.inc(slot.pending);
      slot.pending = 0;
    }
    this.dirty.length = 0;
  }

  private resolve(into: Map<string, Slot>, key: string, values: string[]): Slot {
    let slot: Slot;
    if (this.series >= this.limit) {
      // Past the bound: this set shares the series of its overflow set (remembered, so looked up once).
      const overflow = [...values.slice(0, -1), OTHER_LABEL];
      slot = this.overflowSlot(overflow);
    } else {
      this.series++;
      const child = this.counter.labels(...values);
      slot = { inc: (n) => child.inc(n), pending: 0 };
    }
    into.set(key, slot);
    return slot;
  }

  private readonly overflows = new Map<string, Slot>();

  private overflowSlot(values: string[]): Slot {
    const key = values.join('\u0000');
    let slot = this.overflows.get(key);
    if (!slot) {
      const child = this.counter.labels(...values);
      this.overflows.set(key, (slot = { inc: (n) => child.inc(n), pending: 0 }));
    }
    return slot;
  }
}
