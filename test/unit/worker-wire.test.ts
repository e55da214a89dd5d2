import { describe, expect, it } from 'vitest';
import { fromWirePrepared, toWirePrepared } from '../../src/pipeline/prepared.js';
import { intentOf, type EntryOutcome } from '../../src/store/types.js';
import type { CdcIntent } from '../../src/cdc/types.js';

describe('a worker\'s answer on its way to the main thread', () => {
  const intent = (key: string, after: unknown): CdcIntent => ({
    resource: 'r', key, op: 'c', timeMs: 1, requestId: `q-${key}`, after, source: { gateway: 'kong', operationId: 'o', requestId: `q-${key}`, method: 'POST', path: '/r' },
  });
  const record = (json: string) => ({ stream: 's', key: null, value: undefined, json });

  it('arrives with every event text and intent as it was, whatever sits between them', () => {
    const outcomes: EntryOutcome[] = [
      { requestKey: 'a', records: [record('{"a":"\\u2028 ü 😀"}'), record('{"b":"\\"quoted\\""}')], cdc: intent('k1', { x: [1, null, 'ü'], ['__proto__']: { y: 1 } }) },
      { requestKey: 'b', records: [], unmatched: { label: 'kong/r', method: 'GET', path: '/x' } },
      { requestKey: 'c', records: [record('{"c":"😀😀"}')] },
      { requestKey: 'd', records: [], cdc: intent('k2', { note: 'line\nbreak "and" quotes' }) },
    ];
    const wire = toWirePrepared({ received: 4, outcomes });
    expect('json' in wire).toBe(true);
    const back = fromWirePrepared(structuredClone(wire));
    expect(back.received).toBe(4);
    expect(back.outcomes.map((o) => o.records.map((r) => r.json))).toEqual(outcomes.map((o) => o.records.map((r) => r.json)));
    expect(back.outcomes.map((o) => o.unmatched)).toEqual(outcomes.map((o) => o.unmatched));
    // An intent arrives as its text (the pending journal stores it as is) with what orders it beside.
    const [i1, i2] = [back.outcomes[0]!.cdc!, back.outcomes[3]!.cdc!];
    expect(i1).toMatchObject({ resource: 'r', key: 'k1', timeMs: 1, requestId: 'q-k1' });
    expect(intentOf(i1)).toEqual(JSON.parse(JSON.stringify(outcomes[0]!.cdc)));
    expect(intentOf(i2)).toEqual(outcomes[3]!.cdc);
    expect(back.outcomes[1]!.cdc).toBeUndefined();
  });

  it('keeps the objects when JSON cannot hold a value, so the main thread decides about that entry as without workers', () => {
    const prepared = { received: 1, outcomes: [{ requestKey: 'k', records: [record('{}')], cdc: intent('k1', { big: 10n }) }] };
    const wire = toWirePrepared(prepared);
    expect('json' in wire).toBe(false);
    expect(fromWirePrepared(structuredClone(wire))).toEqual(prepared);
  });
});
