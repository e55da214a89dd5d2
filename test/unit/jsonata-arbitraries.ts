/** fast-check generators for the jsonata differential tests: exchanges, JSON and expressions. */
import fc from 'fast-check';

/**
 * Field names shared by data and expressions so that paths usually hit something, plus the
 * property names jsonata itself reads off values (`outerWrapper`, `tupleStream`, ...).
 */
const FIELDS = ['id', 'total', 'items', 'sku', 'quantity', 'price', 'status', 'name', 'tags', 'customer', 'a', 'b', 'x y'];
const QUIRKS = ['sequence', 'outerWrapper', 'keepSingleton', 'cons', 'tupleStream', '_jsonata_function', '0', '__proto__'];

const key = fc.oneof({ weight: 12, arbitrary: fc.constantFrom(...FIELDS) }, { weight: 1, arbitrary: fc.constantFrom(...QUIRKS) });

const scalar = fc.oneof(
  fc.integer({ min: -3, max: 5 }),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom('A', 'B', 'x', '', '10', 'ok', 'failed'),
  fc.string({ maxLength: 6 }),
  fc.boolean(),
  fc.constant(null),
);

/** Arbitrary JSON with nested objects, arrays of objects, arrays of arrays and nulls. */
export const json: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalar,
    fc.dictionary(key, tie('value'), { maxKeys: 5, noNullPrototype: true }),
    fc.array(tie('value'), { maxLength: 4 }),
  ),
})).value;

const item = fc.record(
  { sku: fc.constantFrom('A', 'B', 'C'), quantity: fc.integer({ min: 0, max: 5 }), price: fc.oneof(fc.double({ min: 0, max: 100, noNaN: true }), fc.integer({ min: 0, max: 100 })), tags: fc.array(fc.constantFrom('x', 'y'), { maxLength: 2 }) },
  { requiredKeys: ['sku'] },
);
const body = fc.oneof(
  { weight: 4, arbitrary: fc.record({ id: fc.oneof(fc.uuid(), fc.integer()), total: fc.oneof(fc.integer({ min: 0, max: 999 }), fc.double({ min: 0, max: 999, noNaN: true })), status: fc.constantFrom('placed', 'cancelled'), items: fc.array(item, { maxLength: 4 }), customer: fc.record({ id: fc.integer({ min: 1, max: 99 }), name: fc.string({ maxLength: 5 }) }, { requiredKeys: [] }) }, { requiredKeys: [] }) },
  { weight: 2, arbitrary: json },
  { weight: 1, arbitrary: fc.constant(null) },
);
const headers = fc.dictionary(fc.constantFrom('content-type', 'x-request-id', 'a'), fc.string({ maxLength: 5 }), { maxKeys: 3, noNullPrototype: true });

/** Exchange-shaped documents (DESIGN.md, "Exchange") with optional fields and random bodies. */
export const exchange: fc.Arbitrary<unknown> = fc.record({
  request: fc.record({
    id: fc.uuid(),
    time: fc.constant('2025-01-02T03:04:05Z'),
    method: fc.constantFrom('GET', 'POST', 'PATCH', 'DELETE'),
    path: fc.constantFrom('/orders', '/orders/42'),
    query: fc.dictionary(fc.constantFrom('page', 'tag'), fc.oneof(fc.string({ maxLength: 3 }), fc.array(fc.string({ maxLength: 3 }), { maxLength: 3 })), { maxKeys: 2, noNullPrototype: true }),
    headers,
    body,
    route: fc.constantFrom('/orders', '/orders/{orderId}'),
    params: fc.record({ orderId: fc.oneof(fc.constantFrom('42', 'o-1'), fc.integer({ min: 1, max: 99 })) }, { requiredKeys: [] }),
  }, { requiredKeys: ['id', 'method', 'path'] }),
  response: fc.record({ status: fc.constantFrom(200, 201, 204, 400, 404, 500), headers, body, latencyMs: fc.double({ min: 0, max: 500, noNaN: true }) }, { requiredKeys: ['status'] }),
  client: fc.record({ ip: fc.constant('10.0.0.1'), consumer: fc.oneof(fc.constant('alice'), fc.constant(null)) }, { requiredKeys: [] }),
  operation: fc.record({ id: fc.constantFrom('createOrder', 'updateOrder'), method: fc.constant('post'), path: fc.constant('/orders') }),
}, { requiredKeys: ['request', 'response'] });

/** Both an exchange and, less often, any JSON at all as the top-level document. */
export const document = fc.oneof({ weight: 4, arbitrary: exchange }, { weight: 1, arbitrary: json });

const NAMES = ['request', 'response', 'body', 'params', 'orderId', 'status', ...FIELDS.filter((f) => f !== 'x y'), '`x y`', 'outerWrapper', 'sequence', '__proto__'];
const name = fc.constantFrom(...NAMES);
/** Where realistic rules start; a random tail then goes on from there. */
const ROOTS = ['request.body', 'response.body', 'request.body.items', 'response.body.items', 'response.body.customer', 'request.params', 'request.query', 'request.headers', 'response', '$', '$$.request.body'];
const steps = fc.oneof(
  fc.array(name, { minLength: 1, maxLength: 4 }).map((s) => s.join('.')),
  fc.tuple(fc.constantFrom(...ROOTS), fc.array(name, { maxLength: 2 })).map(([r, s]) => [r, ...s].join('.')),
);
const literal = fc.oneof(
  fc.integer({ min: -2, max: 400 }).map(String),
  fc.constantFrom('"A"', '"x"', '""', '"10"', 'true', 'false', 'null', '1.5', '0'),
);

/** Expression source in the fast-path subset, built from a small grammar. */
export const expression: fc.Arbitrary<string> = fc.letrec<{ expr: string; path: string }>((tie) => {
  const expr = tie('expr');
  const path = tie('path');
  return {
    path: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      steps,
      fc.tuple(steps, fc.constantFrom('[0]', '[1]', '[-1]', '[]', '[0][0]', '[1.7]')).map(([p, s]) => p + s),
      fc.tuple(steps, expr).map(([p, e]) => `${p}[${e}]`),
      fc.tuple(path, path).map(([p, q]) => `${p}.${q}`),
      fc.tuple(steps, expr).map(([p, e]) => `${p}.(${e})`),
      fc.tuple(steps, expr, expr).map(([p, e, f]) => `${p}.[${e}, ${f}]`),
      fc.tuple(steps, expr).map(([p, e]) => `$.${p}[${e}]`),
      fc.tuple(expr, steps).map(([e, p]) => `(${e}).${p}`),
      fc.tuple(expr, steps).map(([e, p]) => `[${e}].${p}`),
    ),
    expr: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      path,
      literal,
      fc.constantFrom('$', '$$'),
      fc.tuple(expr, fc.constantFrom('=', '!=', '<', '<=', '>', '>=', 'and', 'or', '&', '+', '-', '*', '/', '%', 'in'), expr).map(([l, op, r]) => `(${l} ${op} ${r})`),
      fc.tuple(expr, expr, fc.option(expr)).map(([c, t, e]) => (e === null ? `(${c} ? ${t})` : `(${c} ? ${t} : ${e})`)),
      fc.array(fc.tuple(fc.oneof(fc.constantFrom('"k"', '"j"', '"1"', '"__proto__"'), path), expr), { maxLength: 3 }).map((ps) => `{${ps.map(([k, v]) => `${k}: ${v}`).join(', ')}}`),
      fc.tuple(steps, fc.constantFrom('"k"', 'sku', 'name'), expr).map(([p, k, v]) => `${p}.{${k}: ${v}}`),
      fc.array(expr, { maxLength: 3 }).map((es) => `[${es.join(', ')}]`),
      fc.tuple(expr, expr).map(([a, b]) => `(${a}; ${b})`),
      expr.map((e) => `-(${e})`),
    ),
  };
}).expr;
