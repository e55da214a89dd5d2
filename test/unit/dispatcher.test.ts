import { describe, expect, it } from 'vitest';
import { Dispatcher } from '../../src/dispatch/dispatcher.js';
import { silentLogger } from '../../src/logger.js';
import { permanentFailure } from '../../src/sinks/connector.js';
import type { StreamRecord } from '../../src/model/records.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';

const store = () => new SqliteStore({ path: ':memory:', retentionMs: 0, dedupeWindowMs: 60_000, synchronous: 'normal' });
const append = (s: SqliteStore, key: string, stream = 'orders') =>
  s.commit({ entries: [{ requestKey: key, records: [{ stream, key, value: { key } }] }] });
const until = async (cond: () => boolean) => {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(cond()).toBe(true);
};

describe('Dispatcher', () => {
  it('delivers every record in order, retries a failing sink, and commits its offset only after success', async () => {
    const s = store();
    const got: string[] = [];
    let failures = 2;
    const sink = {
      async deliver(records: StreamRecord[]) {
        if (failures-- > 0) throw new Error('sink down');
        got.push(...records.map((r) => r.key!));
      },
      async close() {},
    };
    append(s, 'a');
    append(s, 'b');
    const d = new Dispatcher(s, sink, silentLogger, { name: 'test', streams: ['orders'], backoffMs: 5 });
    d.start();
    await until(() => got.length === 2);
    expect(s.subscriptions.cursor('sink:test', 'orders')).toBe(2);
    append(s, 'c');
    await until(() => got.length === 3);
    expect(got).toEqual(['a', 'b', 'c']);
    expect(d.lag()).toEqual({ orders: 0 });
    await d.stop();
    s.close();
  });

  it('a sink that keeps its own offsets resumes from them, ahead of or behind reflex\'s cursor, and is asked again after a failure', async () => {
    const s = store();
    for (const k of ['a', 'b', 'c', 'd', 'e']) append(s, k);
    // The remote end committed up to 3 (reflex crashed before its own commit): nothing up to 3 again.
    const remote = new Map([['orders', 3]]);
    const got: string[] = [];
    let asked = 0;
    let failOnce = true;
    const sink = {
      async positions(streams: string[]) {
        asked++;
        return new Map([...remote].filter(([stream]) => streams.includes(stream)));
      },
      async deliver(records: StreamRecord[]) {
        // The remote commit lands, then the answer is lost: the dispatcher cannot know, so it asks.
        for (const r of records) got.push(r.key!);
        remote.set('orders', records[records.length - 1]!.offset);
        if (failOnce) {
          failOnce = false;
          throw new Error('connection lost during COMMIT');
        }
      },
      async close() {},
    };
    const d = new Dispatcher(s, sink, silentLogger, { name: 'own', streams: ['orders'], backoffMs: 5, batchSize: 1 });
    d.start();
    await until(() => s.subscriptions.cursor('sink:own', 'orders') === 5);
    expect(got).toEqual(['d', 'e']);
    expect(asked).toBe(2);
    expect(d.health()).toEqual({ state: 'ok' });
    await d.stop();

    // The remote database restored from an older backup: delivered again from where it says.
    remote.set('orders', 1);
    got.length = 0;
    const again = new Dispatcher(s, sink, silentLogger, { name: 'own', streams: ['orders'], backoffMs: 5 });
    again.start();
    await until(() => got.length === 4);
    expect(got).toEqual(['b', 'c', 'd', 'e']);
    await again.stop();
    s.close();
  });

  it('shows a failing delivery in its health, permanent or not, until it recovers', async () => {
    const s = store();
    append(s, 'a');
    let fail: Error | null = permanentFailure(new Error('permission denied for table events'));
    const sink = {
      async deliver() {
        if (fail) throw fail;
      },
      async close() {},
    };
    const d = new Dispatcher(s, sink, silentLogger, { name: 'h', streams: ['orders'], backoffMs: 5, maxBackoffMs: 10 });
    d.start();
    await until(() => (d.health().error?.attempts ?? 0) >= 3);
    expect(d.health()).toMatchObject({ state: 'failing', error: { message: 'permission denied for table events', permanent: true } });
    fail = null;
    await until(() => d.health().state === 'ok');
    expect(s.subscriptions.cursor('sink:h', 'orders')).toBe(1);
    await d.stop();
    s.close();
  });

  it('resumes from its committed offset: a new dispatcher does not deliver again', async () => {
    const s = store();
    const got: string[] = [];
    const sink = { deliver: async (r: StreamRecord[]) => void got.push(...r.map((x) => x.key!)), close: async () => {} };
    append(s, 'a');
    const first = new Dispatcher(s, sink, silentLogger, { name: 'p', streams: ['*'] });
    first.start();
    await until(() => got.length === 1);
    await first.stop();
    append(s, 'b', 'payments');
    const second = new Dispatcher(s, sink, silentLogger, { name: 'p', streams: ['*'] });
    second.start();
    await until(() => got.length === 2);
    await second.stop();
    expect(got).toEqual(['a', 'b']);
    s.close();
  });

  it('holds the retention floor of the streams it takes at what it has delivered, from 0 before its first delivery', async () => {
    let now = 1_000_000;
    const s = new SqliteStore({ path: ':memory:', retentionMs: 1000, dedupeWindowMs: 60_000, synchronous: 'normal', now: () => now });
    append(s, 'a');
    append(s, 'p', 'payments');
    let up = false;
    const got: string[] = [];
    const sink = { deliver: async (r: StreamRecord[]) => { if (!up) throw new Error('down'); got.push(...r.map((x) => x.key!)); }, close: async () => {} };
    const d = new Dispatcher(s, sink, silentLogger, { name: 'k', streams: ['orders'], backoffMs: 5 });
    d.start();
    await until(() => s.subscriptions.cursor(d.owner, 'orders') === 0);
    const sinks = new Set([d.owner]);
    expect(s.subscriptions.floor('payments', sinks)).toBeNull();
    now += 10_000;
    // Everything is past retention; only what the sink has yet to deliver stays.
    s.prune(now, (stream) => s.subscriptions.floor(stream, sinks) ?? Number.POSITIVE_INFINITY);
    expect(s.read('orders', 0, 10).map((r) => r.key)).toEqual(['a']);
    expect(s.read('payments', 0, 10)).toEqual([]);
    up = true;
    await until(() => got.length === 1);
    await until(() => s.subscriptions.floor('orders', sinks) === 1);
    s.prune(now, (stream) => s.subscriptions.floor(stream, sinks) ?? Number.POSITIVE_INFINITY);
    expect(s.read('orders', 0, 10)).toEqual([]);
    await d.stop();
    s.close();
  });
});
