import { describe, expect, it } from 'vitest';
import { breakingChanges } from '../../src/contracts/compat.js';
import type { Contracts } from '../../src/contracts/contracts.js';

function events(schemas: Record<string, object>): Contracts {
  return { specs: [], resources: [], events: Object.entries(schemas).map(([type, schema]) => ({ type, stream: 's', operations: ['op'], schema })) };
}

const ORDER = {
  type: 'object',
  required: ['id', 'items'],
  properties: {
    id: { type: 'string' },
    total: { type: 'number' },
    items: { type: 'array', items: { type: 'object', required: ['sku'], properties: { sku: { type: 'string' }, qty: { type: 'integer' } } } },
  },
};

describe('breaking changes to event contracts', () => {
  it('added event types, added fields and narrower types break nothing', () => {
    const wider = structuredClone(ORDER) as typeof ORDER & { properties: Record<string, object> };
    wider.properties.note = { type: 'string' };
    wider.properties.total = { type: 'integer' };
    expect(breakingChanges(events({ A: ORDER }), events({ A: wider, B: { type: 'object' } }))).toEqual([]);
    // Nothing was promised about a field typed {}.
    expect(breakingChanges(events({ A: { type: 'object', properties: { x: {} } } }), events({ A: { type: 'object', properties: { x: { type: 'string' } } } }))).toEqual([]);
  });

  it('a removed event type, a removed field, a field now optional, a changed type each break consumers', () => {
    const changed = structuredClone(ORDER) as typeof ORDER & { properties: Record<string, unknown> };
    delete changed.properties.total;
    changed.required = ['items'];
    changed.properties.items = { type: 'array', items: { type: 'object', required: ['sku'], properties: { sku: { type: 'string' }, qty: { type: 'string' } } } };
    const found = breakingChanges(events({ A: ORDER, Gone: { type: 'object' } }), events({ A: changed }));
    expect(found.map((c) => [c.subject, c.kind, c.pointer])).toEqual([
      ['A', 'field-optional', '/id'],
      ['A', 'field-removed', '/total'],
      ['A', 'type-changed', '/items/*/qty'],
      ['Gone', 'event-removed', ''],
    ]);
    expect(found[2]!.message).toBe('/items/*/qty was integer, now string');
  });

  it('a type that may now be null, or anything, is a change; integer to number widens', () => {
    const field = (schema: object) => events({ A: { type: 'object', properties: { x: schema } } });
    expect(breakingChanges(field({ type: 'string' }), field({ type: ['string', 'null'] })).map((c) => c.kind)).toEqual(['type-changed']);
    expect(breakingChanges(field({ type: 'string' }), field({})).map((c) => c.message)).toEqual(['/x was string, now any value']);
    expect(breakingChanges(field({ type: 'integer' }), field({ type: 'number' })).map((c) => c.kind)).toEqual(['type-changed']);
  });

  it('changelogs: a resource that lost its changelog, or whose state lost a field', () => {
    const resource = (state: object) => ({ resource: 'orders', stream: 'orders.changelog', state, changeRecord: {} });
    const before: Contracts = { specs: [], events: [], resources: [resource(ORDER), { ...resource(ORDER), resource: 'carts', stream: 'carts.changelog' }] };
    const after: Contracts = { specs: [], events: [], resources: [resource({ type: 'object', properties: { id: { type: 'string' }, items: ORDER.properties.items } })] };
    expect(breakingChanges(before, after).map((c) => [c.subject, c.kind, c.pointer])).toEqual([
      ['orders.changelog', 'field-optional', '/after/id'],
      ['orders.changelog', 'field-removed', '/after/total'],
      ['orders.changelog', 'field-optional', '/after/items'],
      ['carts.changelog', 'changelog-removed', ''],
    ]);
  });
});
