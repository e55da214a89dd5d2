import { describe, expect, it } from 'vitest';
import { inferJsonata } from '../../src/contracts/infer.js';
import { raw, toSchema } from '../../src/contracts/types.js';
import { compileJsonata } from '../../src/rules/jsonata/index.js';
import { loadSpecSet } from '../../src/spec/compile.js';
import { linesOf } from './spec-helpers.js';

/** The input every expression below is typed over. */
const INPUT = {
  type: 'object',
  required: ['id', 'items', 'total'],
  properties: {
    id: { type: 'string' },
    total: { type: 'number' },
    count: { type: 'integer' },
    note: { type: 'string', nullable: true },
    status: { type: 'string', enum: ['open', 'closed'] },
    customer: { type: 'object', additionalProperties: false, required: ['name'], properties: { name: { type: 'string' }, email: { type: 'string', format: 'email' } } },
    items: {
      type: 'array',
      items: { type: 'object', required: ['sku'], properties: { sku: { type: 'string' }, qty: { type: 'integer' }, tags: { type: 'array', items: { type: 'string' } } } },
    },
    extra: { type: 'object', additionalProperties: { type: 'boolean' } },
    either: { oneOf: [{ type: 'string' }, { type: 'object', properties: { code: { type: 'integer' } } }] },
  },
};

function typeOf(expression: string): { schema: unknown; optional: boolean; untyped: string[] } {
  const { result, untyped } = inferJsonata(compileJsonata(expression).ast, raw(INPUT));
  return { schema: toSchema(result.t), optional: result.optional, untyped: untyped.map((u) => u.what) };
}

describe('typing JSONata over JSON Schemas', () => {
  it('paths read the schema of the field, required or not', () => {
    expect(typeOf('id')).toEqual({ schema: { type: 'string' }, optional: false, untyped: [] });
    expect(typeOf('customer.email')).toEqual({ schema: { type: 'string', format: 'email' }, optional: true, untyped: [] });
    expect(typeOf('status').schema).toEqual({ type: 'string', enum: ['open', 'closed'] });
    expect(typeOf('$.id').schema).toEqual({ type: 'string' });
    expect(typeOf('$$.total').schema).toEqual({ type: 'number' });
    // OpenAPI 3.0 `nullable` becomes a null type; a field an open object may have is anything,
    // one a closed object cannot have is never there.
    expect(typeOf('note').schema).toEqual({ type: ['string', 'null'] });
    expect(typeOf('nothing')).toEqual({ optional: true, schema: {}, untyped: [] });
    expect(typeOf('customer.nothing')).toMatchObject({ optional: true, schema: { not: {} } });
    expect(typeOf('{"x": customer.nothing}').schema).toEqual({ type: 'object', properties: {} });
    // additionalProperties and oneOf members.
    expect(typeOf('extra.anything')).toEqual({ schema: { type: 'boolean' }, optional: true, untyped: [] });
    expect(typeOf('either.code').schema).toEqual({ type: 'integer' });
  });

  it('a path through an array maps over it: one value or an array of them, or none', () => {
    expect(typeOf('items')).toEqual({ schema: INPUT.properties.items, optional: false, untyped: [] });
    expect(typeOf('items.sku')).toEqual({ schema: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] }, optional: true, untyped: [] });
    // Arrays met on the way are flattened; `[]` keeps an array even for one value.
    expect(typeOf('items.tags[]').schema).toEqual({ type: 'array', items: { type: 'string' } });
    expect(typeOf('items[0].sku')).toMatchObject({ schema: { type: 'string' }, optional: true });
    expect(typeOf('items[qty > 1]').optional).toBe(true);
  });

  it('object and array constructors, with keys left out where a value may be missing', () => {
    expect(typeOf('{"id": id, "email": customer.email, "n": 1}').schema).toEqual({
      type: 'object',
      properties: { id: { type: 'string' }, email: { type: 'string', format: 'email' }, n: { type: 'integer', const: 1 } },
      required: ['id', 'n'],
    });
    expect(typeOf('[items.{"sku": sku, "qty": qty}]').schema).toEqual({
      type: 'array',
      items: { type: 'object', properties: { sku: { type: 'string' }, qty: { type: 'integer' } }, required: ['sku'] },
    });
    expect(typeOf('[id, total]').schema).toEqual({ type: 'array', items: { type: ['string', 'number'] } });
    expect(typeOf('[[id]]').schema).toEqual({ type: 'array', items: { type: 'array', items: { type: 'string' } } });
  });

  it('literals, string concatenation, arithmetic, comparisons and conditionals', () => {
    expect(typeOf('"x"').schema).toEqual({ type: 'string', const: 'x' });
    expect(typeOf('true').schema).toEqual({ type: 'boolean', const: true });
    expect(typeOf('null').schema).toEqual({ type: 'null' });
    expect(typeOf('id & "-" & customer.email')).toEqual({ schema: { type: 'string' }, optional: false, untyped: [] });
    expect(typeOf('count + 1')).toEqual({ schema: { type: 'integer' }, optional: true, untyped: [] });
    expect(typeOf('total * 2').schema).toEqual({ type: 'number' });
    expect(typeOf('count / 2').schema).toEqual({ type: 'number' });
    expect(typeOf('-count').schema).toEqual({ type: 'integer' });
    expect(typeOf('total > 100')).toEqual({ schema: { type: 'boolean' }, optional: false, untyped: [] });
    expect(typeOf('status = "open" ? total : "none"')).toEqual({ schema: { anyOf: [{ type: 'number' }, { type: 'string', const: 'none' }] }, optional: false, untyped: [] });
    expect(typeOf('total > 100 ? "big"').optional).toBe(true);
    expect(typeOf('(id; total)').schema).toEqual({ type: 'number' });
  });

  it('built-in functions', () => {
    expect(typeOf('$uppercase(id)')).toEqual({ schema: { type: 'string' }, optional: false, untyped: [] });
    expect(typeOf('$count(items)')).toEqual({ schema: { type: 'integer' }, optional: false, untyped: [] });
    expect(typeOf('$sum(items.qty)').schema).toEqual({ type: 'number' });
    expect(typeOf('$exists(note)').schema).toEqual({ type: 'boolean' });
    expect(typeOf('$split(id, "-")').schema).toEqual({ type: 'array', items: { type: 'string' } });
    expect(typeOf('$string(customer.email)').optional).toBe(true);
  });

  it('what is beyond inference is {} and named', () => {
    expect(typeOf('{"a": $lookup(extra, "k"), "b": id}')).toEqual({
      schema: { type: 'object', properties: { a: {}, b: { type: 'string' } }, required: ['b'] },
      optional: false,
      untyped: ['the call $lookup(…)'],
    });
    expect(typeOf('($x := id; $x)').untyped).toEqual(['the variable $x']);
    expect(typeOf('items{sku: qty}').untyped).toEqual(['a grouping ({…} after a path)']);
    expect(typeOf('id ~> $uppercase').untyped).toEqual(['a function chain (~>)']);
    expect(typeOf('**.sku').untyped).toEqual(['a descendant wildcard (**)']);
    // Inside a condition or a comparison the type does not matter: nothing to warn about.
    expect(typeOf('$lookup(extra, "k") ? 1 : 2')).toMatchObject({ untyped: [] });
  });
});

describe('event contracts of a spec', () => {
  it('types each event over the responses its `when` admits, and the state and change records of CDC resources', async () => {
    const set = await loadSpecSet(['test/fixtures/specs/contracts.yaml']);
    const byType = Object.fromEntries(set.contracts.events.map((e) => [e.type, e]));
    expect(byType['com.example.TicketOpened']).toMatchObject({
      stream: 'tickets',
      operations: ['openTicket'],
      schema: {
        $schema: 'https://json-schema.org/draft/2020-12/schema',
        type: 'object',
        properties: { id: { type: 'string' }, title: { type: 'string' }, label: { type: 'string' }, tags: {} },
        required: ['id', 'title', 'label'],
      },
    });
    // `when: response.status == 422` sees the problem response, not the 201 one.
    expect(byType['com.example.TicketRefused']!.schema).toMatchObject({
      properties: { reason: { type: 'string' }, status: { type: 'integer' } },
      required: ['reason', 'status'],
    });
    // Path parameters as the route tree converts them.
    expect(byType['com.example.TicketClosed']!.schema).toMatchObject({ properties: { ticket: { type: 'integer' } }, required: ['ticket'] });

    const [tickets] = set.contracts.resources;
    expect(tickets).toMatchObject({
      resource: 'tickets',
      stream: 'tickets.changelog',
      state: { type: 'object', properties: { id: { type: 'string' }, title: { type: 'string' }, open: { type: 'boolean', const: true } }, required: ['id', 'title', 'open'] },
    });
    expect(tickets!.changeRecord).toMatchObject({
      required: ['op', 'key', 'before', 'after', 'changed', 'ts_ms', 'source'],
      properties: { after: { anyOf: [{ type: 'object', required: ['id', 'title', 'open'] }, { type: 'null' }] }, op: { enum: ['c', 'u', 'd', 'r'] } },
    });
  });

  it('lint warns where inference stops, at the sub-expression', async () => {
    expect(await linesOf('contracts.yaml')).toEqual([
      expect.stringMatching(/^test\/fixtures\/specs\/contracts\.yaml:45:69 - warning RX157: x-reflex-events\[0\]\.data: the call \$lookup\(…\) is beyond schema inference/),
    ]);
  });
});
