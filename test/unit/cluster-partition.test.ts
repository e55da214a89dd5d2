import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { kongFormat } from '../../connectors/sources/kong/format.js';
import { PartitionState, type PartitionInput, type PartitionOutput, type StateWrite } from '../../src/cluster/partition.js';
import { requestKeyOf } from '../../src/pipeline/ingest.js';
import { DEFAULT_RULE_LIMITS } from '../../src/rules/budget.js';
import { loadSpecSet } from '../../src/spec/compile.js';
import type { CompiledSpecSet } from '../../src/spec/types.js';
import type { Exchange } from '../../src/model/exchange.js';

const SESSION = new URL('../../examples/shop/kong-session.ndjson', import.meta.url);
let specs: CompiledSpecSet;
beforeAll(async () => {
  specs = await loadSpecSet([new URL('../../examples/shop/openapi.yaml', import.meta.url).pathname]);
});

/** The shop session as the exchanges topic carries it: one input per log, offsets in log order. */
function session(): PartitionInput[] {
  return kongFormat.decode(readFileSync(SESSION, 'utf8')).map((e, offset) => {
    if (!e.ok) throw new Error('the session has an unreadable entry');
    return { offset, requestKey: requestKeyOf(e.exchange), source: 'test', retry: false, exchange: e.exchange };
  });
}

const fresh = (input: PartitionInput): PartitionInput => ({ ...input, exchange: structuredClone(input.exchange) as Exchange });
const partition = (reorderWindowMs: number) => new PartitionState({ specs, rules: DEFAULT_RULE_LIMITS, dedupeWindowMs: 86_400_000, reorderWindowMs });

/** What a new owner reads back: every write in commit order. */
function restored(writes: StateWrite[], reorderWindowMs: number, now = 0): PartitionState {
  const p = partition(reorderWindowMs);
  for (const w of writes) p.restore(w.key, w.value);
  p.finishRestore(now);
  return p;
}

const ids = (out: PartitionOutput) => out.events.map((e) => (e.value as { id: string }).id);
const changes = (out: PartitionOutput | null) => (out?.changes ?? []).map((c) => ({ stream: c.stream, key: c.key, op: c.record.op, after: c.record.after }));

describe('cluster partition state', () => {
  it('processes the shop session like single-node: events, change records in order, and state', async () => {
    const p = partition(0);
    const out = await p.process(session(), 1_000);
    const expected = readFileSync(new URL('../../examples/shop/expected-events.ndjson', import.meta.url), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { stream: string; value: { id?: string; op?: string } });
    expect(ids(out).sort()).toEqual(expected.filter((r) => r.value.id !== undefined).map((r) => r.value.id).sort());
    expect(out.changes.map((c) => c.record.op)).toEqual(expected.filter((r) => r.value.op !== undefined).map((r) => r.value.op));
    expect(p.get('customers', 'cus_1001')?.deleted).toBe(true);
  });

  it('lists the live keys of a resource in key order, paged, and counts live and deleted keys (what GET /resources gathers)', async () => {
    const p = partition(0);
    await p.process(session(), 1_000);
    const customers = p.list('customers', '', 100);
    expect(customers.map((r) => r.key)).toEqual([...customers.map((r) => r.key)].sort());
    expect(customers.some((r) => r.key === 'cus_1001')).toBe(false); // deleted in the session
    expect(customers.every((r) => !r.deleted && r.state !== null)).toBe(true);
    const orders = p.list('orders', '', 100);
    expect(orders.find((r) => r.key === 'ord_5001')).toMatchObject({ key: 'ord_5001', ...p.get('orders', 'ord_5001') });
    const [first, ...rest] = orders;
    expect(p.list('orders', first!.key, 100)).toEqual(rest);
    expect(p.list('orders', '', 1)).toEqual([first]);
    expect(p.summary(['customers', 'orders'])).toEqual([
      { name: 'customers', keys: customers.length, deleted: 1, pending: 0 },
      { name: 'orders', keys: orders.length, deleted: 0, pending: 0 },
    ]);
  });

  it('a new owner restored from the state writes drops what was processed and keeps every state', async () => {
    const first = partition(0);
    const out = await first.process(session(), 1_000);
    const second = restored(out.state, 0);
    expect(second.keys).toBe(first.keys);
    expect(second.get('orders', 'ord_5001')).toEqual(first.get('orders', 'ord_5001'));
    const again = await second.process(session().map(fresh), 2_000);
    expect(again.duplicates).toBe(session().length);
    expect(again.events).toEqual([]);
    expect(again.changes).toEqual([]);
  });

  it('a dead letter sent again (retry) is processed although its request key was seen', async () => {
    const p = partition(0);
    const [first] = session();
    await p.process([first!], 1_000);
    const retried = await p.process([{ ...fresh(first!), offset: 99, retry: true }], 2_000);
    expect(retried.duplicates).toBe(0);
    expect(retried.events.length).toBeGreaterThan(0);
  });

  it('holds changes for the reorder window and applies them in request-time order, also after a move to a new owner', async () => {
    // POST, GET (a read), PATCH and DELETE of cus_1001: each a change of its state.
    const logs = session().filter((i) => i.exchange.request.path.includes('/customers'));
    expect(logs.length).toBe(4);
    const reversed = [...logs].reverse().map((l, offset) => ({ ...l, offset }));
    const p = partition(1_000);
    const out = await p.process(reversed.map(fresh), 10_000);
    expect(out.changes).toEqual([]);
    expect(p.pendingCount).toBe(4);
    expect(p.due(10_500)).toBeNull();
    // The owner dies inside the window: the new one restores the pending changes and applies them when due.
    const moved = restored(out.state, 1_000, 10_000);
    expect(moved.pendingCount).toBe(p.pendingCount);
    const applied = moved.due(11_000);
    expect(changes(applied)).toEqual(changes(p.due(11_000)));
    expect(changes(applied).map((c) => c.op)).toEqual(['c', 'u', 'd']);
    // Applied changes leave tombstones for their pending records: restored again, nothing is pending.
    expect(restored([...out.state, ...applied!.state], 1_000).pendingCount).toBe(0);
  });

  it('a change the last owner left pending waits for older ones processed again after the move (request-time order, as single-node)', async () => {
    const [create, , update] = session().filter((i) => i.exchange.request.path.includes('/customers'));
    const first = partition(1_000);
    // The last owner processed the update (offset 2) and died inside the window; the create (offset 0)
    // was in a step it never committed, so the new owner processes it again after the restore.
    const before = await first.process([{ ...fresh(update!), offset: 2 }], 10_000);
    const moved = restored(before.state, 1_000, 10_500);
    await moved.process([{ ...fresh(create!), offset: 0 }], 10_600);
    expect(moved.due(11_100)).toBeNull();
    expect(changes(moved.due(11_700)).map((c) => c.op)).toEqual(['c', 'u']);
  });

  it('the next offset written with a step is what a new owner goes on from', () => {
    const p = restored([PartitionState.offsetWrite(41), PartitionState.offsetWrite(84)], 0);
    expect(p.restoredOffset).toBe(84);
    expect(restored([], 0).restoredOffset).toBeNull();
  });

  it('forgets dedupe keys past the window with tombstones', async () => {
    const p = new PartitionState({ specs, rules: DEFAULT_RULE_LIMITS, dedupeWindowMs: 1_000, reorderWindowMs: 0 });
    const out = await p.process(session(), 5_000);
    expect(p.prune(5_500)).toEqual([]);
    const pruned = p.prune(7_000);
    // The session re-sends one log: its dedupe key is there once.
    expect(pruned.length).toBe(out.state.filter((w) => w.key.startsWith('d|')).length);
    expect(pruned.length).toBe(session().length - 1);
    expect(pruned.every((w) => w.key.startsWith('d|') && w.value === null)).toBe(true);
    // Forgotten: the session counts as new again (but for its own re-sent log).
    expect((await restored([...out.state, ...pruned], 0).process(session().map(fresh), 8_000)).duplicates).toBe(1);
  });
});
