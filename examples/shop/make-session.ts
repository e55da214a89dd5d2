/**
 * Writes examples/shop/kong-session.ndjson: a realistic shop session as Kong's file-log writes it
 * (one log object per line). Run: npx tsx examples/shop/make-session.ts
 */
import { writeFileSync } from 'node:fs';
import { kongLog, type KongCall } from '../../test/support/kong-log.js';

const t0 = Date.parse('2026-11-02T09:14:03.120Z');
let n = 0;
const at = (secs: number) => t0 + secs * 1000;
const id = () => `7c1e9a${String(++n).padStart(2, '0')}4f0b4d2e9a4b1c8e5f6a7b${String(n).padStart(2, '0')}`;
const auth = 'Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjdXNfMTAwMSJ9.c2lnbmF0dXJl';

const order = {
  id: 'ord_5001', customerId: 'cus_1001', status: 'pending', currency: 'EUR', total: 89.7,
  items: [{ sku: 'TSHIRT-M-BLK', quantity: 2, unitPrice: 24.9 }, { sku: 'MUG-CLASSIC', quantity: 1, unitPrice: 39.9 }],
};
const bigOrder = {
  id: 'ord_5002', customerId: 'cus_1001', status: 'pending', currency: 'EUR', total: 649,
  items: [{ sku: 'ESPRESSO-PRO', quantity: 1, unitPrice: 649 }],
};

const calls: KongCall[] = [
  { id: id(), startedAt: at(0), method: 'POST', path: '/v1/customers', status: 201, consumer: 'shop-web', authorization: auth,
    requestBody: { email: 'ada@example.com', name: 'Ada Lovelace' },
    responseBody: { id: 'cus_1001', email: 'ada@example.com', name: 'Ada Lovelace', createdAt: '2026-11-02T09:14:03Z' } },
  { id: id(), startedAt: at(2), method: 'GET', path: '/v1/customers/cus_1001', status: 200, consumer: 'shop-web', authorization: auth,
    responseBody: { id: 'cus_1001', email: 'ada@example.com', name: 'Ada Lovelace', createdAt: '2026-11-02T09:14:03Z' } },
  { id: id(), startedAt: at(5), method: 'PATCH', path: '/v1/customers/cus_1001', status: 200, consumer: 'shop-web', authorization: auth,
    requestContentType: 'application/merge-patch+json', requestBody: { name: 'Ada King' },
    responseBody: { id: 'cus_1001', email: 'ada@example.com', name: 'Ada King', createdAt: '2026-11-02T09:14:03Z' } },
  // A validation failure: no items. No event.
  { id: id(), startedAt: at(9), method: 'POST', path: '/v1/orders', status: 400, consumer: 'shop-web', authorization: auth,
    requestBody: { customerId: 'cus_1001', items: [] },
    responseBody: { title: 'Bad Request', status: 400, detail: 'an order needs at least one item' } },
  { id: id(), startedAt: at(12), method: 'POST', path: '/v1/orders', status: 201, consumer: 'shop-web', authorization: auth,
    requestBody: { customerId: 'cus_1001', items: order.items }, responseBody: order },
  { id: id(), startedAt: at(14), method: 'GET', path: '/v1/orders/ord_5001', query: { expand: 'items' }, status: 200, consumer: 'shop-web', authorization: auth,
    responseBody: order },
  { id: id(), startedAt: at(20), method: 'PATCH', path: '/v1/orders/ord_5001', status: 200, consumer: 'shop-web', authorization: auth,
    requestContentType: 'application/merge-patch+json', requestBody: { note: 'leave at the door' },
    responseBody: { ...order, note: 'leave at the door' } },
  // The card is declined; the card number in the request body is redacted before any rule sees it.
  { id: id(), startedAt: at(31), method: 'POST', path: '/v1/orders/ord_5001/payments', status: 402, consumer: 'shop-web', authorization: auth,
    requestBody: { amount: 89.7, card: { number: '4000000000000002', cvc: '123' } },
    responseBody: { title: 'Payment Required', status: 402, detail: 'card_declined' } },
  { id: id(), startedAt: at(40), method: 'POST', path: '/v1/orders/ord_5001/payments', status: 201, consumer: 'shop-web', authorization: auth,
    requestBody: { amount: 89.7, card: { number: '4242424242424242', cvc: '321' } },
    responseBody: { id: 'pay_9001', orderId: 'ord_5001', amount: 89.7, status: 'captured' } },
  { id: id(), startedAt: at(55), method: 'POST', path: '/v1/orders', status: 201, consumer: 'shop-web', authorization: auth,
    requestBody: { customerId: 'cus_1001', items: bigOrder.items }, responseBody: bigOrder },
  { id: id(), startedAt: at(70), method: 'PATCH', path: '/v1/orders/ord_5002', status: 200, consumer: 'shop-web', authorization: auth,
    requestContentType: 'application/merge-patch+json', requestBody: { status: 'cancelled', cancellationReason: 'changed my mind' },
    responseBody: { ...bigOrder, status: 'cancelled', cancellationReason: 'changed my mind' } },
  { id: id(), startedAt: at(75), method: 'GET', path: '/v1/orders/ord_9999', status: 404, consumer: 'shop-web', authorization: auth,
    responseBody: { title: 'Not Found', status: 404, detail: 'no order ord_9999' } },
  // Not in the spec: counted as unmatched for route shop-api, never an error.
  { id: id(), startedAt: at(80), method: 'GET', path: '/v1/healthcheck', status: 200, responseBody: { ok: true } },
  { id: id(), startedAt: at(95), method: 'DELETE', path: '/v1/customers/cus_1001', status: 204, consumer: 'shop-web', authorization: auth },
];

const lines = calls.map((c) => JSON.stringify(kongLog(c)));
// Kong retried the payment batch it got no answer for: the same entry again, which yields nothing new.
lines.push(lines[8]!);
writeFileSync(new URL('./kong-session.ndjson', import.meta.url), lines.join('\n') + '\n');
console.log(`wrote ${lines.length} Kong log lines`);
