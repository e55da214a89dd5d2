import fc from 'fast-check';
import jsonata from 'jsonata';
import { describe, expect, it } from 'vitest';
import { ExpressionError, isPromise } from '../../src/rules/expression.js';
import { compileJsonata } from '../../src/rules/jsonata/index.js';
import { document, exchange, expression } from './jsonata-arbitraries.js';
import { bothWays, mismatch, outcome } from './jsonata-compare.js';

/** Rules as people write them in x-reflex annotations. All must take the fast path. */
const REALISTIC = [
  'response.body.id',
  'request.params.orderId',
  'response.body',
  '{"orderId": response.body.id, "total": response.body.total}',
  'request.body.items.sku',
  'response.body.items[0].price',
  'request.params.orderId & "-" & response.status',
  'response.status >= 400 ? "failed" : "ok"',
  '{"items": request.body.items.{"sku": sku, "qty": quantity}}',
  'response.body.items[-1]',
  'response.body.items[quantity > 1].sku',
  'response.body.items[sku = "A"]',
  'response.status = 201 and response.body.status = "placed"',
  'response.status < 300 or request.method = "GET"',
  '[response.body.id, request.params.orderId]',
  '[request.body.items.sku]',
  '[[response.body.id], request.body.items]',
  'response.body.total * 100',
  'response.body.total + response.body.items[0].price',
  'response.latencyMs / 1000',
  '-response.body.total',
  'request.headers."content-type"',
  'request.body.`x y`',
  '$',
  '$.request.id',
  'request.body.items[]',
  'request.body.items.sku[]',
  '{"id": response.body.id, "customer": response.body.customer.{"id": id, "name": name}, "skus": [request.body.items.sku]}',
  'response.body.customer.id ? response.body.customer.id : request.params.orderId',
  'request.method in ["POST", "PUT"]',
  'response.status != 204 ? response.body : null',
  'request.query.tag[0]',
  'response.body.items.price',
  '"order:" & response.body.id',
  'response.body.total > 100 and response.body.items[0].quantity >= 1',
  '{"total": response.body.total, "count": request.body.items[0].quantity + 0}',
  '(response.body.items.quantity)[1]',
  'response.body.items.tags',
  'request.body.items[0].tags[0]',
  '{"status": response.status, "ok": response.status < 400, "consumer": client.consumer}',
  'request.body.items.{"sku": sku, "line": quantity * price}',
  'request.body.items.{sku: quantity}',
  '{request.method: response.status}',
  'response.body.status = "cancelled" ? {"id": response.body.id, "reason": "cancelled"}',
  '$$.response.body.items[price > 10 and quantity > 0].sku',
  'request.body.items.[sku, quantity]',
  '"total: " & response.body.total',
  'response.body.items.price & ""',
  'request.body.items.(quantity * price)',
  'response.body.items[0].price * response.body.items[0].quantity',
  'true',
  'null',
  '"literal"',
];

function parses(source: string): boolean {
  try {
    jsonata(source);
    return true;
  } catch {
    return false;
  }
}

async function expectSame(source: string, text: string): Promise<void> {
  const compiled = compileJsonata(source);
  const [expected, actual] = await bothWays(source, compiled, text);
  const diff = mismatch(expected, actual);
  if (diff) throw new Error(`${source} on ${text}: ${diff}`);
}

describe('jsonata fast path: differential against jsonata', () => {
  it.each(REALISTIC)('%s', async (source) => {
    expect(compileJsonata(source).fast).toBe(true);
    await fc.assert(
      fc.asyncProperty(exchange, async (doc) => expectSame(source, JSON.stringify(doc))),
      { numRuns: 150 },
    );
  });

  it('agrees on generated expressions over generated documents', async () => {
    await fc.assert(
      fc.asyncProperty(expression, document, async (source, doc) => {
        fc.pre(parses(source));
        expect(compileJsonata(source).fast, source).toBe(true);
        await expectSame(source, JSON.stringify(doc));
      }),
      { numRuns: 3000 },
    );
  });
});

describe('jsonata fast path: semantics spot checks', () => {
  const doc = JSON.stringify({
    a: { one: [1], many: [{ d: 1 }, { d: [2, 3] }], single: [{ d: 'only' }], s: 'x' },
    items: [{ sku: 'A', q: 1 }, { sku: 'B', q: 2 }],
  });
  const cases: [string, unknown][] = [
    ['a.one', [1]], // an array in the input stays an array
    ['a.single.d', 'only'], // a path over an array of one collapses to the value
    ['a.single.d[]', ['only']], // unless kept with []
    ['a.many.d', [1, 2, 3]], // mapped and flattened
    ['items.sku[0]', ['A', 'B']], // the predicate applies per item, not to the result
    ['(items.sku)[0]', 'A'],
    ['a.missing', undefined],
    ['{"k": a.missing, "s": a.s}', { s: 'x' }], // undefined values drop the key
    ['[a.missing, a.one, [a.one]]', [1, [1]]],
    ['a.missing & 1 & null & 1.10 & a.one', '1null1.1[1]'],
  ];
  it.each(cases)('%s', async (source, want) => {
    const compiled = compileJsonata(source);
    expect(compiled.fast).toBe(true);
    const got = compiled.evaluate(JSON.parse(doc));
    expect(isPromise(got)).toBe(false);
    expect(JSON.parse(JSON.stringify(got ?? null))).toEqual(want ?? null);
    await expectSame(source, doc);
  });

  it('throws an Error with jsonata\'s code where jsonata throws', async () => {
    for (const source of ['a.s > 1', 'a.s + 1', '-a.s', '{"k": 1, "k": 2}', '{a.one: 1}', 'items.sku < 1']) {
      const compiled = compileJsonata(source);
      expect(compiled.fast).toBe(true);
      const [expected, actual] = await bothWays(source, compiled, doc);
      expect(expected.ok).toBe(false);
      expect(actual.ok).toBe(false);
      if (actual.ok || expected.ok) continue;
      expect(actual.error).toBeInstanceOf(Error);
      expect((actual.error as { code: string }).code).toBe((expected.error as { code: string }).code);
      expect((actual.error as Error).message).toBe((expected.error as Error).message);
    }
  });

  it('treats sequences inside the input (earlier jsonata results) as jsonata does', async () => {
    const seq = (...items: unknown[]) => Object.assign(items, { sequence: true });
    const make = () => ({
      a: seq(),
      b: seq(1),
      c: seq({ d: 1 }, { d: 2 }),
      e: { f: seq('x') },
      k: Object.assign(seq(5), { keepSingleton: true }),
    });
    const sources = ['a', 'b', 'c.d', 'e.f', 'c[0]', 'b[]', 'k', '[b, c]', '{"x": b, "y": a}', 'e.f & ""', 'b = 1', 'k.x', 'c[(0 - 1)].d'];
    for (const source of sources) {
      const compiled = compileJsonata(source);
      expect(compiled.fast).toBe(true);
      const expected = await outcome(() => jsonata(source).evaluate(make()));
      const actual = await outcome(() => compiled.evaluate(make()));
      expect(mismatch(expected, actual), source).toBeNull();
    }
  });

  it('hands inputs it does not reproduce (tuple streams) to jsonata', async () => {
    const odd = JSON.stringify({ a: { tupleStream: true, b: [{ c: 1 }, { c: 2 }] } });
    for (const source of ['a[0][b]', 'a[0].{"k": b}', 'a[0][0][$]']) await expectSame(source, odd);
  });
});

describe('jsonata fast path: fallback', () => {
  const UNSUPPORTED = [
    '$sum(request.body.items.price)',
    '$string(response.status)',
    'request.body.items.*',
    '**.id',
    'request.body ~> $keys()',
    'request.body.items{sku: quantity}',
    'request.body.items^(price)',
    '($x := 1; $x + 1)',
    '$x',
    'function($v) { $v * 2 }(3)',
    '/ab/i',
    'request.body.items#$i.sku',
    'request.body.items@$i.sku',
    'request.body.items.%.id',
    '[1..3]',
    'request.body.items[0]{sku: quantity}',
  ];
  it.each(UNSUPPORTED)('%s falls back and gives jsonata\'s result', async (source) => {
    const compiled = compileJsonata(source);
    expect(compiled.fast).toBe(false);
    const doc = { request: { body: { items: [{ sku: 'A', quantity: 2, price: 3.5 }, { sku: 'B', quantity: 1, price: 1 }] } }, response: { status: 201, body: { id: 'o-1' } } };
    const expected = await outcome(() => jsonata(source).evaluate(structuredClone(doc)));
    const actual = await outcome(() => compiled.evaluate(structuredClone(doc)));
    expect(mismatch(expected, actual)).toBeNull();
  });
});

describe('compileJsonata: compile errors', () => {
  it.each([
    ['response.body.', 14],
    ['{"a": }', 7],
    ['response.status >=', 18],
    ['request.body.items[0', 20],
  ])('%s throws ExpressionError at its position', (source, position) => {
    let caught: unknown;
    try {
      compileJsonata(source);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ExpressionError);
    const err = caught as ExpressionError;
    expect(err.language).toBe('jsonata');
    expect(err.offset).toBe(position);
    expect(err.message.length).toBeGreaterThan(0);
  });
});
