/**
 * (j) input: change records of an `orders` resource, written straight into a SqliteStore through the
 * event log's append API in large transactions. The section measures the sink, not ingest, so no
 * exchange goes through HTTP, rules or CDC: the records are made here, shaped as the CDC applier
 * makes them (before/after images, changed pointers from its own diff).
 */
import { changedPointers } from '../src/cdc/decide.js';
import type { ChangeRecord } from '../src/model/records.js';
import { SqliteStore } from '../src/store/sqlite-store.js';
import { Random } from './random.js';

export const PG_RESOURCE = 'orders';
export const PG_STREAM = `${PG_RESOURCE}.changelog`;

/** Records appended per SQLite transaction while filling the store. */
const FILL_TRANSACTION = 20_000;
/** Share of changes to a live key that delete it (a deleted key may be created again later). */
const DELETE_SHARE = 0.05;
const STATUSES = ['pending', 'paid', 'packed', 'shipped', 'delivered'] as const;
const SKUS = ['TSHIRT-M-BLK', 'MUG-CLASSIC', 'ESPRESSO-PRO', 'BEANS-ETHIOPIA-1KG', 'FILTER-V60', 'KETTLE-GOOSENECK'];
const T0 = Date.parse('2026-11-01T00:00:00Z');

export interface PgWorkload {
  changes: number;
  keys: number;
  ops: Record<ChangeRecord['op'], number>;
  /** Keys whose last change is not a delete: the rows the resource table must hold at the end. */
  liveKeys: number;
  /** Average size of a change record's JSON in the store. */
  averageBytes: number;
  /** The last offset of the changelog stream (equal to `changes`). */
  lastOffset: number;
  seconds: number;
}

interface Order {
  id: string;
  customerId: string;
  status: string;
  currency: string;
  items: Array<{ sku: string; quantity: number; unitPrice: number }>;
  total: number;
  shippingAddress: { name: string; line1: string; city: string; postalCode: string; country: string };
  note: string | null;
  updatedAt: string;
}

function newOrder(key: string, n: number, rnd: Random): Order {
  const items = Array.from({ length: rnd.int(1, 4) }, (_, i) => ({ sku: SKUS[(n + i) % SKUS.length]!, quantity: rnd.int(1, 3), unitPrice: 4.9 + rnd.int(0, 90) }));
  return {
    id: key, customerId: `cus_${rnd.int(1, 50_000)}`, status: 'pending', currency: 'EUR', items,
    total: Math.round(items.reduce((s, i) => s + i.quantity * i.unitPrice, 0) * 100) / 100,
    shippingAddress: { name: `Customer ${n % 9973}`, line1: `${rnd.int(1, 300)} Market Street`, city: 'Lyon', postalCode: `690${rnd.int(10, 99)}`, country: 'FR' },
    note: null, updatedAt: new Date(T0 + n * 10).toISOString(),
  };
}

/** An update changes the status and sometimes the note or an item's quantity, as a PATCH would. */
function updated(order: Order, n: number, rnd: Random): Order {
  const next: Order = { ...order, status: STATUSES[rnd.int(1, STATUSES.length - 1)]!, updatedAt: new Date(T0 + n * 10).toISOString() };
  if (rnd.next() < 0.3) next.note = `revision ${n}`;
  if (rnd.next() < 0.2) {
    next.items = order.items.map((item, i) => (i === 0 ? { ...item, quantity: item.quantity + 1 } : item));
    next.total = Math.round(next.items.reduce((s, i) => s + i.quantity * i.unitPrice, 0) * 100) / 100;
  }
  return next;
}

/**
 * The i-th change: a random key of `keys`; `c` when the key is not live (first change, or after a
 * delete), else `d` for DELETE_SHARE of them and `u` for the rest. Deterministic for a seed.
 */
function* changeRecords(count: number, keys: number, seed: number): Generator<ChangeRecord> {
  const rnd = new Random(seed);
  const live = new Map<string, Order>();
  for (let n = 0; n < count; n++) {
    const key = `ord_${rnd.int(0, keys - 1).toString().padStart(6, '0')}`;
    const before = live.get(key) ?? null;
    const op: ChangeRecord['op'] = before === null ? 'c' : rnd.next() < DELETE_SHARE ? 'd' : 'u';
    const after = op === 'c' ? newOrder(key, n, rnd) : op === 'u' ? updated(before!, n, rnd) : null;
    if (after) live.set(key, after);
    else live.delete(key);
    const method = op === 'c' ? 'POST' : op === 'u' ? 'PATCH' : 'DELETE';
    yield {
      op, key, before, after, changed: changedPointers(before, after), ts_ms: T0 + n * 10,
      source: {
        gateway: 'kong', operationId: op === 'c' ? 'createOrder' : op === 'u' ? 'updateOrder' : 'deleteOrder',
        requestId: rnd.hex(32), method, path: op === 'c' ? '/v1/orders' : `/v1/orders/${key}`,
      },
    };
  }
}

/** Writes `count` change records over `keys` keys into a new store at `path` (sync normal). */
export function fillStore(path: string, count: number, keys: number, seed: number): PgWorkload {
  const started = performance.now();
  const store = new SqliteStore({ path, retentionMs: 0, dedupeWindowMs: 0, synchronous: 'normal' });
  const ops: PgWorkload['ops'] = { c: 0, u: 0, d: 0, r: 0 };
  const lastOp = new Map<string, ChangeRecord['op']>();
  let bytes = 0;
  try {
    store.ensureStreams([{ name: PG_STREAM, kind: 'changelog' }]);
    const records = changeRecords(count, keys, seed);
    let done = false;
    while (!done) {
      store.transaction(() => {
        for (let i = 0; i < FILL_TRANSACTION; i++) {
          const next = records.next();
          if (next.done) {
            done = true;
            return;
          }
          const record = next.value;
          const json = JSON.stringify(record);
          bytes += Buffer.byteLength(json);
          ops[record.op]++;
          lastOp.set(record.key, record.op);
          store.log.append(PG_STREAM, record.key, record, json);
        }
      });
    }
    let liveKeys = 0;
    for (const op of lastOp.values()) if (op !== 'd') liveKeys++;
    return {
      changes: count, keys, ops, liveKeys, averageBytes: count > 0 ? bytes / count : 0,
      lastOffset: store.lastOffset(PG_STREAM), seconds: (performance.now() - started) / 1000,
    };
  } finally {
    store.close();
  }
}
