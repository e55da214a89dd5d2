/**
 * Seeded generator of Kong log entries for the shop spec (examples/shop/openapi.yaml): a mix of
 * customer and order traffic as a busy shop would log it, with state, so gets, patches, payments and
 * cancellations refer to resources created earlier. Same seed, same entries.
 * Run alone to see the mix: npx tsx bench/generate.ts [count]
 */
import { fileURLToPath } from 'node:url';
import { kongLog, type KongCall } from '../test/support/kong-log.js';
import { Random } from './random.js';

/** Share of each kind of call, in percent. */
export const MIX = {
  createCustomer: 7,
  createCustomerInvalid: 1,
  getCustomer: 9,
  getCustomerMissing: 1,
  updateCustomer: 5,
  deleteCustomer: 1,
  createOrder: 15,
  createOrderEmpty: 2,
  getOrder: 24,
  getOrderMissing: 2,
  getOrderUnauthorized: 2,
  updateOrder: 6,
  updateOrderConflict: 1,
  cancelOrder: 4,
  paymentCaptured: 10,
  paymentDeclined: 4,
  unmatched: 5,
} as const;
export type CallKind = keyof typeof MIX;

export interface GenerateOptions {
  count: number;
  seed?: number;
  /** Time of the first request, ms since the epoch. */
  startTime?: number;
}

export interface GeneratedLogs {
  /** One JSON text per Kong log entry, as http-log serializes them. */
  texts: string[];
  averageBytes: number;
  kinds: Record<CallKind, number>;
}

interface Order {
  id: string; customerId: string; status: 'pending' | 'paid' | 'cancelled'; currency: string; total: number;
  items: Array<{ sku: string; quantity: number; unitPrice: number }>; createdAt: string; note?: string;
}
interface Customer { id: string; email: string; name: string; createdAt: string }

const PRODUCTS = [
  ['TSHIRT-M-BLK', 24.9], ['TSHIRT-L-WHT', 24.9], ['HOODIE-M-GRY', 59], ['MUG-CLASSIC', 12.5], ['MUG-TRAVEL', 19.9],
  ['ESPRESSO-PRO', 649], ['GRINDER-BURR', 189], ['BEANS-ETHIOPIA-1KG', 32], ['BEANS-BRAZIL-1KG', 27.5], ['FILTER-V60', 8.9],
  ['KETTLE-GOOSENECK', 79], ['SCALE-0.1G', 45], ['TAMPER-58MM', 39], ['MILK-JUG-600', 22], ['GIFT-CARD-100', 100],
] as const;
const FIRST = ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Margaret', 'Ken', 'Frances', 'Niklaus', 'Radia', 'John'];
const LAST = ['Lovelace', 'Hopper', 'Turing', 'Dijkstra', 'Liskov', 'Knuth', 'Hamilton', 'Thompson', 'Allen', 'Wirth', 'Perlman', 'Backus'];
const CURRENCIES = ['EUR', 'EUR', 'EUR', 'GBP', 'USD'];
const CONSUMERS = ['shop-web', 'shop-ios', 'shop-android', 'partner-acme'];
const UNMATCHED: Array<[string, string]> = [
  ['GET', '/v1/healthcheck'], ['GET', '/v1/products'], ['GET', '/v1/products/MUG-CLASSIC'], ['POST', '/v1/cart/items'],
  ['GET', '/v1/orders'], ['GET', '/v1/recommendations'],
];

export function generateKongLogs(options: GenerateOptions): GeneratedLogs {
  const rng = new Random(options.seed ?? 42);
  const world = new ShopWorld(rng, options.startTime ?? Date.parse('2026-11-02T09:00:00.000Z'));
  const kinds = Object.fromEntries(Object.keys(MIX).map((k) => [k, 0])) as Record<CallKind, number>;
  const texts: string[] = [];
  let bytes = 0;
  for (let i = 0; i < options.count; i++) {
    const kind = rng.weighted(MIX);
    kinds[kind]++;
    const text = JSON.stringify(kongLog(world.call(kind)));
    bytes += Buffer.byteLength(text);
    texts.push(text);
  }
  return { texts, averageBytes: options.count > 0 ? bytes / options.count : 0, kinds };
}

/** The shop's state as the logs reveal it: known customers and orders, a clock and an id counter. */
class ShopWorld {
  private readonly customers: Customer[] = [];
  private readonly orders: Order[] = [];
  private seq = 0;
  private customerSeq = 1000;
  private orderSeq = 5000;
  private paymentSeq = 9000;

  constructor(private readonly rng: Random, private now: number) {}

  call(kind: CallKind): KongCall {
    // Reads and updates need something to refer to; early on, create it instead.
    if (this.customers.length === 0 && kind !== 'unmatched') kind = 'createCustomer';
    else if (this.orders.length === 0 && /Order|payment/.test(kind)) kind = 'createOrder';
    this.now += this.rng.int(1, 40);
    switch (kind) {
      case 'createCustomer': {
        const c = this.newCustomer();
        this.customers.push(c);
        return this.base('POST', '/v1/customers', 201, { email: c.email, name: c.name }, c);
      }
      case 'createCustomerInvalid':
        return this.base('POST', '/v1/customers', 400, { name: this.name() },
          problem(400, 'Bad Request', 'email is required'));
      case 'getCustomer': {
        const c = this.rng.pick(this.customers);
        return this.base('GET', `/v1/customers/${c.id}`, 200, undefined, c);
      }
      case 'getCustomerMissing':
        return this.base('GET', '/v1/customers/cus_0000', 404, undefined, problem(404, 'Not Found', 'no customer cus_0000'));
      case 'updateCustomer': {
        const c = this.rng.pick(this.customers);
        c.name = this.name();
        return { ...this.base('PATCH', `/v1/customers/${c.id}`, 200, { name: c.name }, c), requestContentType: 'application/merge-patch+json' };
      }
      case 'deleteCustomer': {
        const i = this.rng.int(0, this.customers.length - 1);
        const [c] = this.customers.splice(i, 1);
        if (this.customers.length === 0) this.customers.push(c!); // keep one so later calls have a target
        return this.base('DELETE', `/v1/customers/${c!.id}`, 204);
      }
      case 'createOrder': {
        const o = this.newOrder();
        this.orders.push(o);
        if (this.orders.length > 2000) this.orders.shift();
        return this.base('POST', '/v1/orders', 201, { customerId: o.customerId, currency: o.currency, items: o.items }, o);
      }
      case 'createOrderEmpty':
        return this.base('POST', '/v1/orders', 400, { customerId: this.rng.pick(this.customers).id, items: [] },
          problem(400, 'Bad Request', 'an order needs at least one item'));
      case 'getOrder': {
        const o = this.rng.pick(this.orders);
        const call = this.base('GET', `/v1/orders/${o.id}`, 200, undefined, o);
        return this.rng.next() < 0.3 ? { ...call, query: { expand: 'items' } } : call;
      }
      case 'getOrderMissing':
        return this.base('GET', '/v1/orders/ord_0000', 404, undefined, problem(404, 'Not Found', 'no order ord_0000'));
      case 'getOrderUnauthorized': {
        const { authorization: _dropped, consumer: _none, ...call } = this.base('GET', `/v1/orders/${this.rng.pick(this.orders).id}`, 401,
          undefined, problem(401, 'Unauthorized', 'missing or invalid bearer token'));
        return call;
      }
      case 'updateOrder': {
        const o = this.rng.pick(this.orders);
        o.note = this.rng.pick(['leave at the door', 'ring twice', 'gift wrap please', 'deliver after 6pm']);
        return { ...this.base('PATCH', `/v1/orders/${o.id}`, 200, { note: o.note }, o), requestContentType: 'application/merge-patch+json' };
      }
      case 'updateOrderConflict': {
        const o = this.rng.pick(this.orders);
        return { ...this.base('PATCH', `/v1/orders/${o.id}`, 409, { status: 'pending' }, problem(409, 'Conflict', `order ${o.id} was already shipped`)),
          requestContentType: 'application/merge-patch+json' };
      }
      case 'cancelOrder': {
        const o = this.rng.pick(this.orders);
        o.status = 'cancelled';
        const reason = this.rng.pick(['changed my mind', 'found it cheaper', 'ordered by mistake']);
        return { ...this.base('PATCH', `/v1/orders/${o.id}`, 200, { status: 'cancelled', cancellationReason: reason }, { ...o, cancellationReason: reason }),
          requestContentType: 'application/merge-patch+json' };
      }
      case 'paymentCaptured': {
        const o = this.rng.pick(this.orders);
        o.status = 'paid';
        return this.base('POST', `/v1/orders/${o.id}/payments`, 201, { amount: o.total, card: this.card() },
          { id: `pay_${++this.paymentSeq}`, orderId: o.id, amount: o.total, status: 'captured', capturedAt: iso(this.now) });
      }
      case 'paymentDeclined': {
        const o = this.rng.pick(this.orders);
        return this.base('POST', `/v1/orders/${o.id}/payments`, 402, { amount: o.total, card: this.card() },
          problem(402, 'Payment Required', this.rng.pick(['card_declined', 'insufficient_funds', 'expired_card'])));
      }
      case 'unmatched': {
        const [method, path] = this.rng.pick(UNMATCHED);
        return this.base(method, path, 200, method === 'POST' ? { sku: 'MUG-CLASSIC', quantity: 1 } : undefined, { ok: true });
      }
    }
  }

  private base(method: string, path: string, status: number, requestBody?: unknown, responseBody?: unknown): KongCall {
    const consumer = this.rng.pick(CONSUMERS);
    // Only key-auth clients are Kong consumers; the web shop's JWT is checked by the API itself.
    const kongConsumer = consumer.startsWith('partner') ? { consumer } : {};
    return {
      // 32 hex digits like Kong's; the counter makes every id unique.
      id: this.rng.hex(20) + (++this.seq).toString(16).padStart(12, '0'),
      startedAt: this.now,
      method,
      path,
      status,
      ...kongConsumer,
      authorization: `Bearer eyJhbGciOiJIUzI1NiJ9.${Buffer.from(`{"sub":"${consumer}"}`).toString('base64url')}.${this.rng.hex(43)}`,
      clientIp: `198.51.100.${this.rng.int(1, 254)}`,
      latency: this.rng.int(3, 180),
      ...(requestBody !== undefined ? { requestBody } : {}),
      ...(responseBody !== undefined ? { responseBody } : {}),
    };
  }

  private newCustomer(): Customer {
    const name = this.name();
    return { id: `cus_${++this.customerSeq}`, email: `${name.toLowerCase().replace(' ', '.')}.${this.customerSeq}@example.com`, name, createdAt: iso(this.now) };
  }

  private newOrder(): Order {
    const items = Array.from({ length: this.rng.int(1, 5) }, () => {
      const [sku, unitPrice] = this.rng.pick(PRODUCTS);
      return { sku, quantity: this.rng.int(1, 3), unitPrice };
    });
    const total = Math.round(items.reduce((s, i) => s + i.quantity * i.unitPrice, 0) * 100) / 100;
    return {
      id: `ord_${++this.orderSeq}`, customerId: this.rng.pick(this.customers).id, status: 'pending',
      currency: this.rng.pick(CURRENCIES), total, items, createdAt: iso(this.now),
    };
  }

  private name(): string {
    return `${this.rng.pick(FIRST)} ${this.rng.pick(LAST)}`;
  }

  private card() {
    return { number: `4${this.rng.int(100, 999)}${this.rng.hex(12).replace(/[a-f]/g, '7')}`, cvc: String(this.rng.int(100, 999)), expiry: '12/29' };
  }
}

function problem(status: number, title: string, detail: string) {
  return { type: `https://api.shop.example/problems/${status}`, title, status, detail };
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { texts, averageBytes, kinds } = generateKongLogs({ count: Number(process.argv[2] ?? 10_000) });
  console.log(`${texts.length} entries, average ${averageBytes.toFixed(0)} bytes`);
  for (const [k, n] of Object.entries(kinds)) console.log(`  ${k.padEnd(22)} ${n}`);
}
