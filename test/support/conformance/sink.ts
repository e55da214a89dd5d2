import { afterEach, describe, expect, it } from 'vitest';
import { builtinRegistry } from '../../../connectors/index.js';
import { validateConnectorBlock } from '../../../src/config/connector-config.js';
import { Dispatcher } from '../../../src/dispatch/dispatcher.js';
import { silentLogger } from '../../../src/logger.js';
import type { StreamRecord } from '../../../src/model/records.js';
import type { Registry } from '../../../src/registry.js';
import type { StreamInfo } from '../../../src/spec/types.js';
import type { Sink, SinkConnector } from '../../../src/sinks/connector.js';
import { SqliteStore } from '../../../src/store/sqlite-store.js';
import { eventually, expectConfigRefused, sleep, type BadConfig } from './config.js';

/** One record as the remote end got it: the id of the CloudEvent it carried, and its key. */
export interface Received {
  id: string;
  key: string | null;
}

/** What a connector's test tells the suite: how to configure the sink and how to see what it delivered. */
export interface SinkHarness {
  connector: SinkConnector<any>;
  /** A valid block without `type`. */
  config(): Record<string, unknown> | Promise<Record<string, unknown>>;
  /** Everything the remote end has received so far from the given streams, in arrival order. */
  received(settings: Record<string, unknown>, streams: string[]): Promise<Received[]>;
  /** Makes the remote end unavailable, and available again (a broker down, a receiver answering 500, a broken pipe). */
  outage?: { begin(): Promise<void>; end(): Promise<void> };
  /** Blocks the sink must refuse at start, naming reflex.yaml and the line. */
  badConfigs: BadConfig[];
  /** What the specs declare about the suite's streams (default: nothing), for sinks that read it. */
  streams?(names: string[]): StreamInfo[];
  /** How long delivery may take (creating a topic, a consumer group join). */
  deliveryMs?: number;
  registry?: Registry;
}

const event = (id: string, key: string, n: number) => ({
  specversion: '1.0', id, type: 'com.example.ConformanceChecked', source: '/conformance', subject: key,
  time: new Date(1_700_000_000_000 + n).toISOString(), datacontenttype: 'application/json', data: { n },
});

/**
 * The checks every sink connector passes, run by the host's dispatcher over a real store: records
 * arrive once each, in stream order per key; deliver() rejects while the remote end is down, the
 * cursor stays until deliver() resolved, and what failed is delivered again; nothing is delivered
 * after close(); a bad config block is refused naming reflex.yaml and its line.
 */
export function sinkConformance(name: string, harness: SinkHarness): void {
  const registry = harness.registry ?? builtinRegistry();
  const deliveryMs = harness.deliveryMs ?? 15_000;
  const open: Array<{ store: SqliteStore; dispatcher: Dispatcher }> = [];
  let run = 0;

  /** A store with the sink's dispatcher on two fresh streams; `append` writes events with unique ids. */
  async function start(wrap: (sink: Sink, store: SqliteStore, owner: string) => Sink = (s) => s) {
    const connector = harness.connector;
    const tag = `conf${Date.now().toString(36)}${++run}`;
    const streams = [`${tag}-a`, `${tag}-b`];
    const settings = validateConnectorBlock('sink', { type: connector.type, ...(await harness.config()), streams }, connector, registry);
    const sinkName = connector.instanceName(settings);
    const sink = connector.create(settings, { name: sinkName, logger: silentLogger, service: undefined, streams: harness.streams?.(streams) ?? [] } as never) as Sink;
    expect(typeof sink.deliver, 'the sink is delivered by the host\'s dispatcher').toBe('function');
    await sink.open?.();
    const store = new SqliteStore({ path: ':memory:', retentionMs: 0, dedupeWindowMs: 60_000, synchronous: 'normal' });
    const dispatcher = new Dispatcher(store, wrap(sink, store, `sink:${sinkName}`), silentLogger, { name: sinkName, streams, backoffMs: 20, maxBackoffMs: 200 });
    open.push({ store, dispatcher });
    let n = 0;
    const appended: Array<{ stream: string; id: string; key: string }> = [];
    const append = (count: number) => {
      for (let i = 0; i < count; i++, n++) {
        const stream = streams[n % 2]!;
        // Order holds per stream and key, so each key lives in one stream.
        const key = `${n % 2 ? 'b' : 'a'}${n % 3}`;
        const id = `${tag}-${n}`;
        store.commit({ entries: [{ requestKey: id, records: [{ stream, key, value: event(id, key, n) }] }] });
        appended.push({ stream, id, key });
      }
    };
    const cursors = () => streams.map((s) => store.subscriptions.cursor(`sink:${sinkName}`, s) ?? 0);
    const caughtUp = () => eventually('the dispatcher to deliver everything', cursors, (c) => c.every((v, i) => v === store.lastOffset(streams[i]!)), deliveryMs);
    const received = async () => {
      const ours = new Set(appended.map((a) => a.id));
      return (await harness.received(settings, streams)).filter((r) => ours.has(r.id));
    };
    return { store, dispatcher, streams, append, appended, cursors, caughtUp, received };
  }

  /** Each key's ids in the order the remote end got them, first arrival only (redelivery may repeat). */
  function perKey(got: Received[]): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    const seen = new Set<string>();
    for (const r of got) {
      if (seen.has(r.id)) continue;
      seen.add(r.id);
      (out[r.key ?? ''] ??= []).push(r.id);
    }
    return out;
  }
  const expectedPerKey = (appended: Array<{ id: string; key: string }>) => perKey(appended.map(({ id, key }) => ({ id, key })));

  afterEach(async () => {
    for (const { store, dispatcher } of open.splice(0)) {
      await dispatcher.stop();
      store.close();
    }
  });

  describe(`${name}: sink conformance`, () => {
    it('delivers every record once, in stream order per key', async () => {
      const s = await start();
      s.append(24);
      s.dispatcher.start();
      await s.caughtUp();
      const got = await eventually('every record at the remote end', s.received, (g) => g.length >= 24, deliveryMs);
      expect(got.map((r) => r.id).sort()).toEqual(s.appended.map((a) => a.id).sort());
      expect(perKey(got)).toEqual(expectedPerKey(s.appended));
    });

    it('commits the cursor only after deliver() resolved: a batch whose deliver() threw is delivered again', async () => {
      const seenCursors: Array<{ before: number; first: number }> = [];
      let failed = 0;
      const s = await start((sink, store, owner) => ({
        async deliver(records: StreamRecord[]) {
          seenCursors.push({ before: store.subscriptions.cursor(owner, records[0]!.stream) ?? 0, first: records[0]!.offset });
          await sink.deliver(records);
          // The remote end has the batch, but its acknowledgement is lost: the dispatcher must send it again.
          if (failed++ < 2) throw new Error('acknowledgement lost');
        },
        close: () => sink.close(),
      }));
      s.append(12);
      s.dispatcher.start();
      await s.caughtUp();
      const got = await eventually('every record at the remote end', s.received, (g) => new Set(g.map((r) => r.id)).size >= 12, deliveryMs);
      expect(failed).toBeGreaterThan(2);
      expect(perKey(got)).toEqual(expectedPerKey(s.appended));
      // Every batch started past the committed cursor, and the two that threw were offered again from the same place.
      for (const c of seenCursors) expect(c.first).toBe(c.before + 1);
      expect(seenCursors[1]).toEqual(seenCursors[0]);
    });

    if (harness.outage) {
      const outage = harness.outage;
      it('rejects deliver() while the remote end is down, keeps its cursor, and delivers everything once it is back', async () => {
        let rejected = 0;
        const s = await start((sink) => ({
          deliver: (records: StreamRecord[]) => sink.deliver(records).catch((err: unknown) => {
            rejected++;
            throw err;
          }),
          close: () => sink.close(),
        }));
        s.append(6);
        s.dispatcher.start();
        await s.caughtUp();
        await outage.begin();
        try {
          const before = s.cursors();
          s.append(12);
          await eventually('deliver() to reject', () => rejected, (n) => n >= 1, deliveryMs);
          expect(s.cursors()).toEqual(before);
        } finally {
          await outage.end();
        }
        await s.caughtUp();
        const got = await eventually('every record at the remote end', s.received, (g) => new Set(g.map((r) => r.id)).size >= 18, deliveryMs);
        expect(perKey(got)).toEqual(expectedPerKey(s.appended));
      }, 3 * deliveryMs);
    }

    it('delivers nothing after close()', async () => {
      const s = await start();
      s.append(4);
      s.dispatcher.start();
      await s.caughtUp();
      await eventually('the records at the remote end', s.received, (g) => g.length >= 4, deliveryMs);
      const t0 = Date.now();
      await s.dispatcher.stop();
      expect(Date.now() - t0).toBeLessThan(5_000);
      s.append(4);
      await sleep(1_000);
      expect(new Set((await s.received()).map((r) => r.id)).size).toBe(4);
    });

    for (const bad of harness.badConfigs) {
      it(`refuses a bad config block naming reflex.yaml and its line: ${bad.what}`, async () => {
        await expectConfigRefused('sinks', harness.connector.type, bad, registry);
      });
    }
  });
}
