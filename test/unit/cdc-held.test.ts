import { describe, expect, it } from 'vitest';
import { HeldStates, type HeldState } from '../../src/store/cdc-held.js';

/** The held CDC states' bookkeeping: every held state is in exactly one key range, so slices reach them all. */
const state = (key: string): HeldState => ({ resource: 'orders', key, json: '{}', deleted: false, version: 1, timeMs: 0, requestId: 'r', since: 0, clockSince: 0, range: 0 });
const mapKey = (key: string) => `orders\u0000${key}`;

/** Commits `keys` (one transaction) and returns what a slice of at least `slice` then writes, committed too. */
function commitThenSlice(held: HeldStates, keys: string[], mark: number, slice: number): string[] {
  held.commit(new Map(keys.map((k) => [mapKey(k), state(k)])), null, [], { seq: mark, clock: mark });
  const taken = held.nextSlice(slice, new Set());
  const written = new Map(taken.keys.map((k) => [k, held.get(k)!]));
  held.commit(new Map(), written, taken.ranges, null);
  return taken.keys;
}

describe('held CDC states', () => {
  it('slices write every held state once per rotation, each range in key order, and the oldest tells the replay mark', () => {
    const held = new HeldStates({ ranges: 8, sample: 64 });
    const seen = new Set<string>();
    let n = 0;
    let unsorted = 0;
    // 100 transactions of 20 keys (some repeated), each followed by a slice of one range.
    for (let t = 0; t < 100; t++) {
      const keys = Array.from({ length: 20 }, () => `k${(n++ * 7919) % 600}`);
      const slice = commitThenSlice(held, keys, t, 1);
      for (let i = 1; i < slice.length; i++) if (slice[i - 1]! > slice[i]!) unsorted++;
      for (const k of keys) seen.add(k);
    }
    expect(unsorted).toBe(0);
    expect(seen.size).toBeGreaterThan(held.size);
    // The oldest still held was first changed no earlier than any other still held.
    const oldest = held.oldest(null)!;
    for (const s of held.values()) expect(s.since).toBeGreaterThanOrEqual(oldest.since);
    // One more rotation without new keys empties it: no state is left out of every range.
    const left = held.size;
    expect(left).toBeGreaterThan(0);
    let written = 0;
    for (let i = 0; i < 8 && held.size > 0; i++) written += commitThenSlice(held, [], 1000, 1).length;
    expect(written).toBe(left);
    expect(held.size).toBe(0);
  });

  it('a state changed again after a slice wrote it stays held, with the mark of its transaction', () => {
    const held = new HeldStates({ ranges: 1 });
    held.commit(new Map([[mapKey('a'), state('a')], [mapKey('b'), state('b')]]), null, [], { seq: 5, clock: 1 });
    const taken = held.nextSlice(1, new Set());
    expect(taken.keys).toEqual([mapKey('a'), mapKey('b')]);
    const written = new Map(taken.keys.map((k) => [k, held.get(k)!]));
    // In the same transaction, after the slice: `a` changes again.
    const again = state('a');
    held.commit(new Map([[mapKey('a'), again]]), written, taken.ranges, { seq: 9, clock: 3 });
    expect(held.size).toBe(1);
    expect(held.get(mapKey('a'))).toBe(again);
    expect(held.oldest(null)).toMatchObject({ since: 9, clockSince: 3 });
  });
});
