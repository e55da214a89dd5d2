import type { ResourceState } from '../cdc/types.js';
import type { OwnedPart, ResourceCounts } from './types.js';

type Keyed = { key: string } & ResourceState;

/** One page from the pages of several owners (each its first `limit` keys after the same key): the first `limit` of them all. */
export function mergePages(parts: Array<OwnedPart<Keyed>>, limit: number): OwnedPart<Keyed> {
  const resources = parts.flatMap((p) => p.resources).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return { partitions: partitionsOf(parts), resources: resources.slice(0, limit) };
}

/** The counts of several owners added up per resource. */
export function sumCounts(parts: Array<OwnedPart<ResourceCounts>>, names: readonly string[]): OwnedPart<ResourceCounts> {
  const totals = new Map(names.map((name) => [name, { name, keys: 0, deleted: 0, pending: 0 }]));
  for (const c of parts.flatMap((p) => p.resources)) {
    const t = totals.get(c.name);
    if (!t) continue;
    t.keys += c.keys;
    t.deleted += c.deleted;
    t.pending += c.pending;
  }
  return { partitions: partitionsOf(parts), resources: [...totals.values()] };
}

/** Partitions of `0..count-1` that no part answered for. */
export function missingPartitions(parts: Array<OwnedPart<unknown>>, count: number): number[] {
  const answered = new Set(parts.flatMap((p) => p.partitions));
  return Array.from({ length: count }, (_, p) => p).filter((p) => !answered.has(p));
}

function partitionsOf(parts: Array<OwnedPart<unknown>>): number[] {
  return [...new Set(parts.flatMap((p) => p.partitions))].sort((a, b) => a - b);
}
