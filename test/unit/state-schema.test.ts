import { describe, expect, it } from 'vitest';
import { loadSpecSet } from '../../src/spec/compile.js';

describe('resource state schemas for sinks', () => {
  it('a changelog stream carries the JSON response schema of the operations that keep the default state', async () => {
    const set = await loadSpecSet(['examples/shop/openapi.yaml']);
    const orders = set.streams.find((s) => s.name === 'orders.changelog');
    expect(orders?.stateSchema).toMatchObject({ type: 'object', properties: { id: { type: 'string' }, status: { type: 'string' } } });
    // Serializable: dereferenced schemas may be circular, the copy is not.
    expect(() => JSON.stringify(set.streams)).not.toThrow();
    // Event streams have none.
    expect(set.streams.filter((s) => s.kind === 'events').every((s) => s.stateSchema === undefined)).toBe(true);
  });
});
