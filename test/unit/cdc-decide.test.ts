import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decide, changedPointers } from '../../src/cdc/decide.js';
import type { CdcIntent, ResourceState } from '../../src/cdc/types.js';
import type { ChangeRecord } from '../../src/model/records.js';

let clock = 0;
function intent(op: CdcIntent['op'], key: string, fields: Partial<CdcIntent> = {}): CdcIntent {
  clock += 1000;
  return {
    resource: 'orders', key, op, timeMs: clock, requestId: `r${clock}`,
    source: { gateway: 'kong', operationId: 'op', requestId: `r${clock}`, method: 'X', path: '/' },
    ...fields,
  };
}

/** Applies intents one after another, like the store does, and returns the change records and final state. */
function run(intents: CdcIntent[], initial: Map<string, ResourceState> = new Map()) {
  const states = new Map(initial);
  const records: ChangeRecord[] = [];
  let late = 0;
  const skipped: string[] = [];
  for (const i of intents) {
    const d = decide(i, states.get(i.key) ?? null);
    if (d.kind === 'late') late++;
    else if (d.kind === 'skipped') skipped.push(d.reason);
    else {
      states.set(i.key, d.state);
      if (d.record) records.push(d.record);
    }
  }
  return { states, records, late, skipped };
}
const ops = (records: ChangeRecord[]) => records.map((r) => `${r.op}:${r.key}`);

describe('CDC decisions', () => {
  it('follows a resource through create, read, update, no-op update, delete and re-create', () => {
    const { records, states } = run([
      intent('c', 'o1', { after: { id: 'o1', status: 'pending', items: [1, 2] } }),
      intent('r', 'o1', { after: { id: 'o1', status: 'pending', items: [1, 2] } }),
      intent('u', 'o1', { after: { id: 'o1', status: 'paid', items: [1, 2] } }),
      intent('u', 'o1', { after: { id: 'o1', status: 'paid', items: [1, 2] } }),
      intent('d', 'o1'),
      intent('d', 'o1'),
      intent('c', 'o1', { after: { id: 'o1', status: 'pending' } }),
    ]);
    expect(records.map((r) => [r.op, r.before, r.after, r.changed])).toEqual([
      ['c', null, { id: 'o1', status: 'pending', items: [1, 2] }, ['']],
      ['u', { id: 'o1', status: 'pending', items: [1, 2] }, { id: 'o1', status: 'paid', items: [1, 2] }, ['/status']],
      ['d', { id: 'o1', status: 'paid', items: [1, 2] }, null, ['']],
      ['c', null, { id: 'o1', status: 'pending' }, ['']],
    ]);
    // The version counts changes: reads and no-op updates do not make one.
    expect(states.get('o1')).toMatchObject({ deleted: false, version: 4, state: { id: 'o1', status: 'pending' } });
  });

  it('emits a snapshot (r, before null) for a read of a key never seen, and nothing for a read that changes nothing', () => {
    const { records } = run([intent('r', 'k', { after: { a: 1 } }), intent('r', 'k', { after: { a: 1 } }), intent('r', 'k', { after: { a: 2 } })]);
    expect(records.map((r) => [r.op, r.before, r.after])).toEqual([['r', null, { a: 1 }], ['r', { a: 1 }, { a: 2 }]]);
  });

  it('applies a PATCH without a response body as JSON Merge Patch, or JSON Patch, to the stored state', () => {
    const { records, skipped } = run([
      intent('c', 'k', { after: { name: 'Ada', tags: ['x'], address: { city: 'London', zip: 'N1' } } }),
      intent('u', 'k', { patch: { format: 'merge', document: { name: 'Ada King', address: { zip: null } } } }),
      intent('u', 'k', { patch: { format: 'json-patch', document: [{ op: 'add', path: '/tags/-', value: 'y' }] } }),
      intent('u', 'k', { patch: { format: 'json-patch', document: [{ op: 'replace', path: '/name', value: 'Z' }, { op: 'test', path: '/name', value: 'nope' }] } }),
      intent('u', 'unknown', { patch: { format: 'merge', document: { a: 1 } } }),
    ]);
    expect(records.slice(1).map((r) => [r.after, r.changed])).toEqual([
      [{ name: 'Ada King', tags: ['x'], address: { city: 'London' } }, ['/address/zip', '/name']],
      [{ name: 'Ada King', tags: ['x', 'y'], address: { city: 'London' } }, ['/tags/1']],
    ]);
    expect(skipped).toEqual([
      expect.stringContaining('JSON Patch operation 1 failed'),
      expect.stringContaining('no known state of orders/unknown'),
    ]);
  });

  it('treats patch keys like constructor, prototype and __proto__ as data, in merge patches and JSON Patches', () => {
    const start = JSON.parse('{"name": "Ada", "__proto__": {"x": 1}, "toString": "s"}');
    const { records, skipped } = run([
      intent('c', 'k', { after: start }),
      intent('u', 'k', { patch: { format: 'merge', document: JSON.parse('{"constructor": {"a": 1}, "prototype": 2, "__proto__": {"y": 2}, "name": "Bo"}') } }),
      intent('u', 'k', { patch: { format: 'json-patch', document: [
        { op: 'add', path: '/constructor/b', value: JSON.parse('{"__proto__": 3}') },
        { op: 'remove', path: '/prototype' },
        { op: 'replace', path: '/__proto__/y', value: 5 },
      ] } }),
      // Inherited members are not there: replacing one fails like any missing member.
      intent('u', 'k', { patch: { format: 'json-patch', document: [{ op: 'replace', path: '/hasOwnProperty', value: 1 }] } }),
    ]);
    expect(skipped).toEqual([expect.stringContaining('JSON Patch operation 0 failed')]);
    expect(records.slice(1).map((r) => [JSON.stringify(r.after), r.changed])).toEqual([
      ['{"name":"Bo","__proto__":{"x":1,"y":2},"toString":"s","constructor":{"a":1},"prototype":2}', ['/__proto__/y', '/constructor', '/name', '/prototype']],
      ['{"name":"Bo","__proto__":{"x":1,"y":5},"toString":"s","constructor":{"a":1,"b":{"__proto__":3}}}', ['/__proto__/y', '/constructor/b', '/prototype']],
    ]);
    const after = records[2]!.after as Record<string, unknown>;
    expect(Object.getPrototypeOf(after)).toBe(Object.prototype);
    expect(Object.getPrototypeOf(after.constructor)).toBe(Object.prototype);
  });

  it('skips a JSON Patch whose result would be nested too deep to store, instead of failing the batch', () => {
    const deepPath = '/a'.repeat(900);
    const nested = (n: number) => { let v: unknown = 1; for (let i = 0; i < n; i++) v = { a: v }; return v; };
    const { skipped, records } = run([
      intent('c', 'k', { after: nested(900) }),
      intent('u', 'k', { patch: { format: 'json-patch', document: [{ op: 'replace', path: deepPath, value: nested(200) }] } }),
    ]);
    expect(records).toHaveLength(1);
    expect(skipped).toEqual([expect.stringContaining('nested deeper than 1000 levels')]);
  });

  it('never rolls state back with an older log, and breaks equal times by request id', () => {
    const t = 5_000_000;
    const { records, late, states } = run([
      intent('c', 'k', { timeMs: t, requestId: 'b', after: { v: 2 } }),
      intent('u', 'k', { timeMs: t - 10, requestId: 'z', after: { v: 1 } }),
      intent('u', 'k', { timeMs: t, requestId: 'a', after: { v: 0 } }),
      intent('u', 'k', { timeMs: t, requestId: 'c', after: { v: 3 } }),
    ]);
    expect(late).toBe(2);
    expect(ops(records)).toEqual(['c:k', 'u:k']);
    expect(states.get('k')!.state).toEqual({ v: 3 });
  });

  it('a no-op update still advances the key\'s clock, so an older change arriving later is late', () => {
    const { late, states } = run([
      intent('c', 'k', { timeMs: 1000, after: { v: 1 } }),
      intent('u', 'k', { timeMs: 3000, after: { v: 1 } }),
      intent('u', 'k', { timeMs: 2000, after: { v: 2 } }),
    ]);
    expect(late).toBe(1);
    expect(states.get('k')!.state).toEqual({ v: 1 });
  });

  it('names changed fields by JSON pointer', () => {
    expect(changedPointers({ a: 1, b: { c: [1, 2] }, 'x/y': 1 }, { a: 1, b: { c: [1, 3] }, 'x/y': 2, d: null })).toEqual(['/b/c/1', '/d', '/x~1y']);
    expect(changedPointers(null, { a: 1 })).toEqual(['']);
    expect(changedPointers('x', 'x')).toEqual([]);
  });

  it('replaying the change records reproduces the stored state, for any sequence of operations on any keys', () => {
    const value = fc.oneof(
      fc.record({ status: fc.constantFrom('a', 'b', 'c'), n: fc.integer({ min: 0, max: 3 }) }),
      fc.record({ status: fc.constantFrom('a', 'b'), tags: fc.array(fc.constantFrom('x', 'y'), { maxLength: 2 }) }),
    );
    const step = fc.record({
      op: fc.constantFrom<CdcIntent['op']>('c', 'u', 'd', 'r'),
      key: fc.constantFrom('k1', 'k2', 'k3'),
      after: value,
      patch: fc.option(fc.record({ status: fc.constantFrom('a', 'z', null) }), { nil: undefined }),
      dt: fc.integer({ min: -3000, max: 5000 }),
    });
    fc.assert(
      fc.property(fc.array(step, { maxLength: 40 }), (steps) => {
        let t = 1_000_000;
        const intents = steps.map((s, i) => {
          t += s.dt;
          const base = { resource: 'r', key: s.key, op: s.op, timeMs: t, requestId: `q${i}`, source: { gateway: 'kong', operationId: 'o', requestId: `q${i}`, method: 'X', path: '/' } };
          return s.op === 'u' && s.patch ? { ...base, patch: { format: 'merge' as const, document: s.patch } } : { ...base, after: s.after };
        });
        const { states, records } = run(intents);
        const replayed = new Map<string, unknown>();
        for (const r of records) {
          if (r.op === 'd') replayed.delete(r.key);
          else replayed.set(r.key, r.after);
          expect(r.before === null || r.op !== 'c').toBe(true);
        }
        const live = new Map([...states].filter(([, s]) => !s.deleted).map(([k, s]) => [k, s.state]));
        expect(replayed).toEqual(live);
      }),
      { numRuns: 500 },
    );
  });
});

describe('changedPointers', () => {
  it('compares arrays position by position and names appended and removed items', () => {
    expect(changedPointers({ tags: ['a', 'b'] }, { tags: ['a', 'b', 'c', 'd'] })).toEqual(['/tags/2', '/tags/3']);
    expect(changedPointers({ tags: ['a', 'b', 'c'] }, { tags: ['b', 'c'] })).toEqual(['/tags/0', '/tags/1', '/tags/2']);
    expect(changedPointers({ a: [1] }, { a: { 0: 1 } })).toEqual(['/a']);
    expect(changedPointers({ a: { b: 1 } }, { a: { b: 1 } })).toEqual([]);
  });
});
