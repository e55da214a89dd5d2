import { describe, expect, it } from 'vitest';
import { storedToMessages, toMessages } from '../../connectors/sinks/kafka/messages.js';
import type { StreamRecord } from '../../src/model/records.js';

const event = {
  specversion: '1.0', id: 'e1', source: 'https://api.shop.example', type: 'com.shop.OrderPlaced', subject: 'ord_1',
  time: '2026-11-03T08:00:00.000Z', datacontenttype: 'application/json', data: { id: 'ord_1', total: 12.5, items: [{ sku: 'A', quantity: 2 }] },
  reflexstream: 'orders', reflexoperation: 'createOrder', reflexrequestid: 'req-1',
};
const change = (op: 'c' | 'u' | 'd') => ({
  op, key: 'ord_1', before: op === 'c' ? null : { id: 'ord_1', status: 'open' }, after: op === 'd' ? null : { id: 'ord_1', status: 'paid' },
  changed: ['/status'], ts_ms: 1_762_156_800_000,
  source: { gateway: 'kong', operationId: 'updateOrder', requestId: 'req-2', method: 'PATCH', path: '/orders/ord_1' },
});

/** A record as the store hands it to read() and to readJson(). */
const both = (stream: string, key: string | null, value: unknown) => ({
  parsed: { stream, offset: 1, key, value } satisfies StreamRecord,
  stored: { stream, offset: 1, key, json: JSON.stringify(value) },
});

describe('Kafka messages from stored JSON text', () => {
  for (const mode of ['binary', 'structured'] as const) {
    it(`give the messages of the parsed record: an event in ${mode} mode`, () => {
      const r = both('orders', 'ord_1', event);
      expect(storedToMessages(r.stored, mode)).toEqual(toMessages(r.parsed, mode));
    });
  }

  it('give a change record its stored text as the value, and a delete its tombstone', () => {
    for (const op of ['c', 'u', 'd'] as const) {
      const r = both('orders.changelog', 'ord_1', change(op));
      const messages = storedToMessages(r.stored, 'binary');
      expect(messages).toEqual(toMessages(r.parsed, 'binary'));
      expect(messages[0]!.value).toBe(r.stored.json);
      expect(messages.map((m) => m.value === null)).toEqual(op === 'd' ? [false, true] : [false]);
    }
  });

  it('recognise a change record whose text does not start with op', () => {
    const { op, ...rest } = change('d');
    const stored = { stream: 'orders.changelog', offset: 3, key: 'ord_1', json: JSON.stringify({ ...rest, op }) };
    expect(storedToMessages(stored, 'binary').map((m) => m.value)).toEqual([stored.json, null]);
  });
});
