import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decide } from '../../src/cdc/decide.js';
import { diffStates } from '../../src/cdc/diff.js';
import { changeFromStored, storedChangeText } from '../../src/cdc/stored-change.js';
import type { CdcIntent, ResourceState } from '../../src/cdc/types.js';

const source = { gateway: 'kong', operationId: 'updateOrder', requestId: 'r2', method: 'PUT', path: '/orders/k' };
const intent = (op: CdcIntent['op'], after: unknown): CdcIntent => ({ resource: 'orders', key: 'k', op, timeMs: 2000, requestId: 'r2', after, source });
const current = (state: unknown): ResourceState => ({ state, deleted: false, version: 3, timeMs: 1000, requestId: 'r1' });

/** States as rules give them: members JSON leaves out (undefined) and holes included. */
const value: fc.Arbitrary<unknown> = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom(1, 2, 'x', null, true, undefined),
    fc.array(tie('v'), { maxLength: 3 }),
    fc.sparseArray(fc.constantFrom(1, 'y'), { maxLength: 3 }),
    fc.dictionary(fc.constantFrom('a', 'b', 'c', '__proto__', '~/x', 'x/~0', 'after'), tie('v'), { maxKeys: 4 }),
  ),
})).v;

describe('diffStates: changed pointers and the old values, in one walk', () => {
  it('stores the same text as working the old values out from the record, and reads back the same before', () => {
    fc.assert(
      fc.property(value, value, fc.constantFrom<CdcIntent['op']>('c', 'u', 'd', 'r'), (rawBefore, after, op) => {
        // A stored state is parsed JSON; `after` is what the rule gave.
        const before = JSON.parse(JSON.stringify(rawBefore) ?? 'null') as unknown;
        const decision = decide(intent(op, after), before === null ? null : current(before));
        if (decision.kind !== 'apply' || !decision.record) return;
        const afterJson = JSON.stringify(decision.record.after) ?? 'null';
        expect(decision.restore).not.toBeUndefined();
        const text = storedChangeText(decision.record, afterJson, decision.restore);
        expect(text).toBe(storedChangeText(decision.record, afterJson));
        expect(JSON.stringify(changeFromStored('k', JSON.parse(text)))).toBe(JSON.stringify(decision.record));
      }),
      { numRuns: 3000 },
    );
  });

  it('sorts the pointers with their old values and escapes ~ and / in member names', () => {
    const d = diffStates({ z: 1, 'a/b': 2, m: [1, 2, 3], k: { '~': 1 } }, { z: 2, 'a/b': 3, m: [1], k: { '~': 2 } });
    expect(d.changed).toEqual(['/a~1b', '/k/~0', '/m/1', '/m/2', '/z']);
    expect(d.restore).toEqual([['/a~1b', 2], ['/k/~0', 1], ['/m/1', 2], ['/m/2', 3], ['/z', 1]]);
  });

  it('asks for the whole before where rebuilding it would not give it back', () => {
    expect(diffStates({ a: 1, b: 2 }, { a: 1 }).restore).toBeNull(); // a removed member would come back last
    expect(diffStates({ a: 1, b: 2 }, { b: 2, a: 1, c: 3 }).restore).toBeNull(); // members reordered
    expect(diffStates([1], { 0: 1 }).restore).toBeNull(); // the whole value replaced
    expect(diffStates(null, { a: 1 }).restore).toBeNull(); // nothing before
    expect(diffStates({ a: 1 }, null).restore).toBeNull(); // a delete
    expect(diffStates({ a: 1 }, { a: 1, b: 2 }).restore).toEqual([['/b']]);
  });
});
