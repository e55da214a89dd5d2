/**
 * Evaluations per second of typical rule expressions: the fast path (compileJsonata's
 * synchronous closures) against jsonata's own evaluator, in the same process and run.
 *
 *   npx tsx bench/jsonata.ts [seconds per measurement, default 1]
 */
import jsonata from 'jsonata';
import { isPromise } from '../src/rules/expression.js';
import { compileJsonata } from '../src/rules/jsonata/index.js';

const SECONDS = Number(process.argv[2] ?? 1);

const EXPRESSIONS = [
  'response.body.id',
  'request.params.orderId & "-" & response.status',
  'response.status >= 400 ? "failed" : "ok"',
  '{"orderId": response.body.id, "total": response.body.total, "customer": response.body.customer.id}',
  '{"items": request.body.items.{"sku": sku, "qty": quantity}, "first": request.body.items[0].price}',
];

const items = Array.from({ length: 5 }, (_, i) => ({
  sku: `SKU-${1000 + i}`,
  name: `Item number ${i}`,
  quantity: i + 1,
  price: 9.99 + i * 5,
  tags: ['retail', i % 2 ? 'promo' : 'regular'],
}));

/** A POST /orders exchange as a Kong log would give it, with JSON bodies on both sides. */
const EXCHANGE = {
  request: {
    id: '01J9Z7Q3K5V8X2M4N6P8R0T2W4',
    time: '2025-06-01T12:34:56.789Z',
    method: 'POST',
    scheme: 'https',
    host: 'api.shop.example',
    path: '/orders/o-12345',
    query: { expand: ['items', 'customer'], dryRun: 'false' },
    headers: {
      'content-type': 'application/json',
      accept: 'application/json',
      'user-agent': 'shop-web/4.2.1 (+https://shop.example)',
      'x-request-id': '7f3c9a2e-1b4d-4e8f-9a6b-2c1d0e9f8a7b',
      authorization: '[redacted]',
    },
    body: {
      customer: { id: 'c-778', email: 'ada@example.com' },
      items,
      shipping: { method: 'express', address: { street: '1 Main St', city: 'Springfield', zip: '12345', country: 'US' } },
      couponCode: null,
    },
    route: '/orders/{orderId}',
    params: { orderId: 'o-12345' },
  },
  response: {
    status: 201,
    headers: { 'content-type': 'application/json', location: '/orders/o-12345', 'x-kong-request-id': 'a1b2c3d4e5f6' },
    body: {
      id: 'o-12345',
      status: 'placed',
      total: 124.85,
      currency: 'USD',
      customer: { id: 'c-778', name: 'Ada Lovelace' },
      items: items.map(({ sku, quantity, price }) => ({ sku, quantity, price })),
      createdAt: '2025-06-01T12:34:56.912Z',
    },
    latencyMs: 42.7,
  },
  client: { ip: '203.0.113.7', consumer: 'shop-web' },
  gateway: { kind: 'kong', service: 'orders', route: 'orders-write', node: 'kong-1' },
  operation: { id: 'updateOrder', method: 'post', path: '/orders/{orderId}' },
};

function perSecond(count: number, startNs: bigint): number {
  return count / (Number(process.hrtime.bigint() - startNs) / 1e9);
}

function measureSync(run: () => unknown): number {
  let sink = 0;
  for (let i = 0; i < 20_000; i++) if (run() !== undefined) sink++; // warm up and optimise
  const start = process.hrtime.bigint();
  const until = start + BigInt(Math.round(SECONDS * 1e9));
  let count = 0;
  while (process.hrtime.bigint() < until) {
    for (let i = 0; i < 1000; i++) if (run() !== undefined) sink++;
    count += 1000;
  }
  if (sink < 0) console.log(sink);
  return perSecond(count, start);
}

async function measureAsync(run: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 2000; i++) await run();
  const start = process.hrtime.bigint();
  const until = start + BigInt(Math.round(SECONDS * 1e9));
  let count = 0;
  while (process.hrtime.bigint() < until) {
    for (let i = 0; i < 100; i++) await run();
    count += 100;
  }
  return perSecond(count, start);
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

const size = Buffer.byteLength(JSON.stringify(EXCHANGE));
console.log(`Input: one POST /orders/{orderId} exchange, ${size} bytes of JSON: request with 5 headers, query,`);
console.log(`params and a body of ${items.length} line items (sku, name, quantity, price, tags) plus customer and`);
console.log(`shipping; response 201 with 3 headers and an order body echoing the ${items.length} items.`);
console.log(`Node ${process.version}, jsonata 2.x, ${SECONDS}s per measurement.\n`);

const rows: string[][] = [['expression', 'fast path/s', 'jsonata/s', 'speed-up']];
for (const source of EXPRESSIONS) {
  const compiled = compileJsonata(source);
  const reference = jsonata(source);
  if (!compiled.fast) throw new Error(`not on the fast path: ${source}`);
  const fastResult = compiled.evaluate(EXCHANGE);
  if (isPromise(fastResult)) throw new Error('fast path returned a promise');
  const same = JSON.stringify(fastResult) === JSON.stringify(await reference.evaluate(EXCHANGE));
  if (!same) throw new Error(`results differ for ${source}`);
  const fast = measureSync(() => compiled.evaluate(EXCHANGE));
  const slow = await measureAsync(() => reference.evaluate(EXCHANGE));
  rows.push([source, fmt(fast), fmt(slow), `${(fast / slow).toFixed(0)}x`]);
}

const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
for (const row of rows) {
  console.log(row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '));
}
