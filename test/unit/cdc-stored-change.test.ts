import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decide } from '../../src/cdc/decide.js';
import { changeFromStored, changeJsonFromStored, storedChangeText } from '../../src/cdc/stored-change.js';
import type { CdcIntent, ResourceState } from '../../src/cdc/types.js';
import type { ChangeRecord } from '../../src/model/records.js';

const source = { gateway: 'kong', operationId: 'updateOrder', requestId: 'r2', method: 'PUT', path: '/orders/k' };
const intent = (op: CdcIntent['op'], after: unknown): CdcIntent => ({ resource: 'orders', key: 'k/1', op, timeMs: 2000, requestId: 'r2', after, source });
const current = (state: unknown): ResourceState => ({ state, deleted: false, version: 3, timeMs: 1000, requestId: 'r1' });

/** The record decide() makes for `before` → `after`, stored, then read back as the consumer API and the sinks see it. */
function roundTrip(before: unknown, after: unknown, op: CdcIntent['op'] = 'u') {
  const decision = decide(intent(op, after), before === undefined ? null : current(before));
  if (decision.kind !== 'apply' || !decision.record) return null;
  const record = decision.record;
  const text = storedChangeText(record, JSON.stringify(record.after) ?? 'null');
  return { record, text, read: changeFromStored('k/1', JSON.parse(text)), json: changeJsonFromStored('k/1', text) };
}

const value: fc.Arbitrary<unknown> = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom(1, 2, 'x', null, true),
    fc.array(tie('v'), { maxLength: 3 }),
    fc.dictionary(fc.constantFrom('a', 'b', 'c', '__proto__', '~/x', 'after'), tie('v'), { maxKeys: 4 }),
  ),
})).v;

describe('change records as stored (before kept once)', () => {
  it('reads back exactly the record that was made: same JSON text, before included, for any states', () => {
    fc.assert(
      fc.property(value, value, fc.constantFrom<CdcIntent['op']>('c', 'u', 'd', 'r'), (before, after, op) => {
        // States come back from the store as parsed JSON; `after` is what the rule gave.
        const r = roundTrip(JSON.parse(JSON.stringify(before) ?? 'null'), after, op);
        if (!r) return;
        const expected = JSON.stringify(r.record);
        expect(JSON.stringify(r.read)).toBe(expected);
        expect(r.json).toBe(expected);
      }),
      { numRuns: 2000 },
    );
  });

  it('stores the old values of the changed members instead of the whole before of an update', () => {
    const before = { id: 'k/1', status: 'pending', items: [{ sku: 'A', quantity: 1 }], note: 'x'.repeat(200) };
    const after = { id: 'k/1', status: 'paid', items: [{ sku: 'A', quantity: 2 }, { sku: 'B', quantity: 1 }], note: 'x'.repeat(200), paidAt: 't' };
    const r = roundTrip(before, after)!;
    expect(JSON.parse(r.text)).toEqual({
      op: 'u', restore: [['/items/0/quantity', 1], ['/items/1'], ['/paidAt'], ['/status', 'pending']], after, changed: r.record.changed, ts_ms: 2000, source,
    });
    expect(r.text.length).toBeLessThan(JSON.stringify(r.record).length - 200);
    expect(r.read).toEqual({ ...r.record, before });
    // The rebuilt before shares nothing that reading it could change in after.
    (r.read as ChangeRecord & { before: typeof before }).before.items[0]!.quantity = 99;
    expect((r.read as ChangeRecord & { after: typeof after }).after.items[0]!.quantity).toBe(2);
  });

  it('keeps the whole before where members were removed (rebuilt, they would change order), and none for a create', () => {
    const removed = roundTrip({ a: 1, b: 2, c: 3 }, { a: 1, c: 4 })!;
    expect(JSON.parse(removed.text)).toMatchObject({ before: { a: 1, b: 2, c: 3 } });
    expect(JSON.stringify(removed.read)).toBe(JSON.stringify(removed.record));
    const created = roundTrip(undefined, { a: 1 }, 'c')!;
    expect(JSON.parse(created.text)).not.toHaveProperty('before');
    expect(created.read).toMatchObject({ op: 'c', key: 'k/1', before: null, after: { a: 1 } });
  });

  it('reads rows of earlier releases (whole records) as they are', () => {
    const legacy = { op: 'u', key: 'k', before: { a: 1 }, after: { a: 2 }, changed: ['/a'], ts_ms: 1, source };
    expect(changeFromStored('k', legacy)).toBe(legacy);
    expect(changeJsonFromStored('k', JSON.stringify(legacy))).toBe(JSON.stringify(legacy));
  });
});
