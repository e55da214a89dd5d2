import { describe, expect, it } from 'vitest';
import { fromWirePrepared, toWirePrepared } from '../../src/pipeline/prepared.js';

describe('a worker\'s answer on its way to the main thread', () => {
  const outcome = (value: unknown) => ({ requestKey: 'k', records: [{ stream: 's', key: null, value: undefined, json: '{"a":"\\u2028 ü 😀"}' }], cdc: { resource: 'r', key: 'k1', op: 'c' as const, timeMs: 1, requestId: 'q', after: value, source: { gateway: 'kong', operationId: 'o', requestId: 'q', method: 'POST', path: '/r' } } });

  it('travels as JSON text and arrives as the same outcomes', () => {
    const prepared = { received: 1, outcomes: [outcome({ x: [1, null, 'ü'], ['__proto__']: { y: 1 } })] };
    const wire = toWirePrepared(prepared);
    expect('json' in wire).toBe(true);
    expect(fromWirePrepared(structuredClone(wire))).toEqual(JSON.parse(JSON.stringify(prepared)));
  });

  it('keeps the objects when JSON cannot hold a value, so the main thread decides about that entry as without workers', () => {
    const prepared = { received: 1, outcomes: [outcome({ big: 10n })] };
    const wire = toWirePrepared(prepared);
    expect('json' in wire).toBe(false);
    expect(fromWirePrepared(structuredClone(wire))).toEqual(prepared);
  });
});
