/**
 * A simulated shop backend (examples/shop/openapi.yaml: customers and orders with CDC, payments
 * without) driven by a seeded random walk, and the Kong http-log entry of every call it answered.
 * Request times grow with every call, so they grow per key too. The backend's state at the end is
 * the truth that the change records of any run must end at, key by key.
 */
import { Random } from '../../bench/random.js';
import { kongLog } from './kong-log.js';

export interface WorkloadOptions {
  seed: number;
  calls: number;
  /** Customers and orders each; past it, creates become updates. */
  keysPerResource: number;
  /** Request time of the first call and the step between calls. */
  startMs: number;
  stepMs: number;
  /** Prefix of request ids, so that two workloads never share one. */
  idPrefix: string;
}

/** The final state of a key: its last representation, or null once deleted. */
export type Truth = Map<string, { resource: 'customers' | 'orders'; state: Record<string, unknown> | null }>;

export interface Workload {
  /** Kong log entries in request-time order. */
  logs: Array<Record<string, unknown>>;
  truth: Truth;
  /** Request id of every log, in order. */
  requestIds: string[];
}

interface Order extends Record<string, unknown> {
  id: string;
  customerId: string;
  status: 'pending' | 'paid' | 'cancelled';
  currency: string;
  total: number;
  items: Array<{ sku: string; quantity: number; unitPrice: number }>;
  note?: string;
  cancellationReason?: string;
}

const SKUS = [['TSHIRT-M-BLK', 24.9], ['MUG-CLASSIC', 39.9], ['ESPRESSO-PRO', 649], ['BEANS-1KG', 19.5]] as const;
const NOTES = ['leave at the door', 'ring twice', 'gift wrap', 'call before delivery'];

export function shopWorkload(o: WorkloadOptions): Workload {
  const rnd = new Random(o.seed);
  const customers = new Map<string, Record<string, unknown>>();
  const orders = new Map<string, Order>();
  const truth: Truth = new Map();
  const logs: Array<Record<string, unknown>> = [];
  let customerCount = 0;
  let orderCount = 0;
  let paymentCount = 0;

  const live = <T>(m: Map<string, T>) => [...m.keys()];
  for (let n = 0; n < o.calls; n++) {
    const startedAt = o.startMs + n * o.stepMs;
    const id = `${o.idPrefix}-${String(n).padStart(6, '0')}`;
    const call = (c: Omit<Parameters<typeof kongLog>[0], 'id' | 'startedAt'>) => logs.push(kongLog({ id, startedAt, ...c }));
    const roll = rnd.next();
    const customerIds = live(customers);
    const orderIds = live(orders);

    if (customerIds.length === 0 || (roll < 0.12 && customerCount < o.keysPerResource)) {
      const c = { id: `cus_${++customerCount}`, email: `c${customerCount}@example.com`, name: `Customer ${customerCount}`, createdAt: new Date(startedAt).toISOString() };
      customers.set(c.id, c);
      truth.set(c.id, { resource: 'customers', state: c });
      call({ method: 'POST', path: '/v1/customers', status: 201, requestBody: { email: c.email, name: c.name }, responseBody: c });
    } else if (orderIds.length === 0 || (roll < 0.26 && orderCount < o.keysPerResource)) {
      const items = Array.from({ length: rnd.int(1, 3) }, () => {
        const [sku, unitPrice] = rnd.pick(SKUS);
        return { sku, quantity: rnd.int(1, 3), unitPrice };
      });
      const total = Math.round(items.reduce((s, i) => s + i.quantity * i.unitPrice, 0) * 100) / 100;
      const order: Order = { id: `ord_${++orderCount}`, customerId: rnd.pick(customerIds), status: 'pending', currency: 'EUR', total, items };
      orders.set(order.id, order);
      truth.set(order.id, { resource: 'orders', state: order });
      call({ method: 'POST', path: '/v1/orders', status: 201, requestBody: { customerId: order.customerId, items }, responseBody: order });
    } else if (roll < 0.5) {
      // A note or a status change; now and then the same note again (an update that changes nothing).
      const before = orders.get(rnd.pick(orderIds))!;
      const patch: Record<string, unknown> = before.status === 'cancelled' || rnd.next() < 0.6
        ? { note: rnd.pick(NOTES) }
        : rnd.next() < 0.7 ? { status: 'paid' } : { status: 'cancelled', cancellationReason: 'changed my mind' };
      const after: Order = { ...before, ...patch };
      orders.set(after.id, after);
      truth.set(after.id, { resource: 'orders', state: after });
      call({ method: 'PATCH', path: `/v1/orders/${after.id}`, status: 200, requestContentType: 'application/merge-patch+json', requestBody: patch, responseBody: after });
    } else if (roll < 0.58) {
      // A conflict: the backend changed nothing, no event and no change record.
      const key = rnd.pick(orderIds);
      call({ method: 'PATCH', path: `/v1/orders/${key}`, status: 409, requestContentType: 'application/merge-patch+json', requestBody: { status: 'paid' }, responseBody: { title: 'Conflict', status: 409, detail: 'order is locked' } });
    } else if (roll < 0.78) {
      const key = rnd.pick(customerIds);
      const before = customers.get(key)!;
      const patch: Record<string, unknown> = rnd.next() < 0.5 ? { name: `${String(before.name).split(' #')[0]} #${n}` } : { email: `c${n}@example.com` };
      const after = { ...before, ...patch };
      customers.set(key, after);
      truth.set(key, { resource: 'customers', state: after });
      call({ method: 'PATCH', path: `/v1/customers/${key}`, status: 200, requestContentType: 'application/merge-patch+json', requestBody: patch, responseBody: after });
    } else if (roll < 0.8 && customerIds.length > 3) {
      const key = rnd.pick(customerIds);
      customers.delete(key);
      truth.set(key, { resource: 'customers', state: null });
      call({ method: 'DELETE', path: `/v1/customers/${key}`, status: 204 });
    } else if (roll < 0.92) {
      const order = orders.get(rnd.pick(orderIds))!;
      const payment = { id: `pay_${++paymentCount}`, orderId: order.id, amount: order.total, status: 'captured' };
      call({ method: 'POST', path: `/v1/orders/${order.id}/payments`, status: 201, requestBody: { amount: order.total, card: { number: '4242424242424242', cvc: '321' } }, responseBody: payment });
    } else {
      // A read of the current state: a change record only for a key never seen (none here).
      const order = orders.get(rnd.pick(orderIds))!;
      call({ method: 'GET', path: `/v1/orders/${order.id}`, status: 200, responseBody: order });
    }
  }
  return { logs, truth, requestIds: logs.map((l) => (l.request as { id: string }).id) };
}

/** The logs in batches of `size`, in order: what a gateway's log plugin sends. */
export function batchesOf<T>(items: T[], size: number): T[][] {
  return Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, i * size + size));
}
