import { describe, expect, it } from 'vitest';
import { Dispatcher } from '../../src/dispatch/dispatcher.js';
import { silentLogger } from '../../src/logger.js';
import type { StoredRecord } from '../../src/store/event-log.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';

const store = () => new SqliteStore({ path: ':memory:', retentionMs: 0, dedupeWindowMs: 60_000, synchronous: 'normal' });
const append = (s: SqliteStore, key: string, stream: string, value: unknown = { key, n: 1.5, nested: { a: [1, 'x'] } }) =>
  s.commit({ entries: [{ requestKey: `${stream}/${key}`, records: [{ stream, key, value }] }] });
const until = async (cond: () => boolean) => {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(cond()).toBe(true);
};

describe('Dispatcher with a sink that takes stored JSON (deliverStored)', () => {
  it('hands every stream\'s next batch over in one call, as the text read() parses, and commits all cursors after it resolved', async () => {
    const s = store();
    append(s, 'a', 'orders');
    append(s, 'b', 'orders');
    append(s, 'p', 'payments');
    const calls: StoredRecord[][][] = [];
    let cursorsDuringCall: Array<number | null> = [];
    const sink = {
      async deliver() {
        throw new Error('deliver() is not used when deliverStored() is there');
      },
      async deliverStored(batches: StoredRecord[][]) {
        cursorsDuringCall = ['orders', 'payments'].map((st) => s.subscriptions.cursor('sink:j', st));
        calls.push(batches);
      },
      async close() {},
    };
    const d = new Dispatcher(s, sink, silentLogger, { name: 'j', streams: ['*'], backoffMs: 5 });
    d.start();
    await until(() => calls.length === 1 && s.subscriptions.cursor('sink:j', 'payments') === 1);
    expect(calls[0]!.map((b) => b.map((r) => `${r.stream}/${r.offset}/${r.key}`))).toEqual([['orders/1/a', 'orders/2/b'], ['payments/1/p']]);
    expect(calls[0]!.flat().map((r) => JSON.parse(r.json) as unknown)).toEqual([...s.read('orders', 0, 10), ...s.read('payments', 0, 10)].map((r) => r.value));
    expect(cursorsDuringCall).toEqual([0, 0]);
    expect(s.subscriptions.cursor('sink:j', 'orders')).toBe(2);
    expect(d.lag()).toEqual({ orders: 0, payments: 0 });
    await d.stop();
    s.close();
  });

  it('offers every stream\'s batch again from the same cursors when deliverStored() rejects, and delivers what came meanwhile after it', async () => {
    const s = store();
    append(s, 'a', 'orders');
    append(s, 'p', 'payments');
    const offered: string[][] = [];
    let failures = 2;
    const sink = {
      async deliver() {},
      async deliverStored(batches: StoredRecord[][]) {
        offered.push(batches.flat().map((r) => `${r.stream}/${r.offset}`));
        if (failures-- > 0) throw new Error('broker down');
      },
      async close() {},
    };
    const d = new Dispatcher(s, sink, silentLogger, { name: 'f', streams: ['orders', 'payments'], backoffMs: 5 });
    d.start();
    await until(() => offered.length === 3);
    expect(offered).toEqual([['orders/1', 'payments/1'], ['orders/1', 'payments/1'], ['orders/1', 'payments/1']]);
    expect(d.health()).toEqual({ state: 'ok' });
    append(s, 'b', 'orders');
    await until(() => s.subscriptions.cursor('sink:f', 'orders') === 2);
    expect(offered.at(-1)).toEqual(['orders/2']);
    await d.stop();
    s.close();
  });
});

describe('Dispatcher and a store that commits before its fsync', () => {
  it('delivers a record only once store.durable() resolved after reading it, either way of delivering', async () => {
    for (const stored of [false, true]) {
      const s = store();
      let syncDone: () => void = () => {};
      let asked = 0;
      // The store's fsync of what ingest committed is still running.
      const durable = () => {
        asked++;
        return new Promise<void>((resolve) => (syncDone = resolve));
      };
      const got: string[] = [];
      const sink = {
        async deliver(records: Array<{ key: string | null }>) {
          got.push(...records.map((r) => r.key!));
        },
        ...(stored ? { async deliverStored(batches: StoredRecord[][]) { got.push(...batches.flat().map((r) => r.key!)); } } : {}),
        async close() {},
      };
      append(s, 'a', 'orders');
      const d = new Dispatcher(Object.assign(s, { durable }), sink, silentLogger, { name: `d${stored}`, streams: ['orders'], backoffMs: 5 });
      d.start();
      await until(() => asked === 1);
      await new Promise((r) => setTimeout(r, 30));
      expect(got).toEqual([]);
      expect(s.subscriptions.cursor(`sink:d${stored}`, 'orders')).toBe(0);
      syncDone();
      await until(() => got.length === 1 && s.subscriptions.cursor(`sink:d${stored}`, 'orders') === 1);
      await d.stop();
      s.close();
    }
  });
});
