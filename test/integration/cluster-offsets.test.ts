import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKafka, type KafkaTestbed } from '../../testbed/kafka.js';
import { settledCluster, waitSettled, type ClusterRun } from '../support/cluster.js';
import { GatewayPosters } from '../support/gateway-posters.js';
import { batchesOf, shopWorkload } from '../support/shop-workload.js';
import { readTopics } from '../support/topic-reader.js';

// Named consumers of the HTTP consumer API in cluster mode: consumer `c` is the Kafka consumer group
// `<cluster.group>.api.<c>` (committed offsets only), so a position committed through one instance
// is what every other instance answers. Two reflex processes on one real broker.
const PARTITIONS = 2;

let kafka: KafkaTestbed;
let run: ClusterRun;

beforeAll(async () => {
  kafka = await startKafka();
  run = await settledCluster(kafka.brokers, 'offsets', PARTITIONS, 2, '200ms');
}, 120_000);
afterAll(async () => {
  await run?.stop();
  await kafka?.stop();
});

interface Position {
  consumer: string;
  partitions: Array<{ partition: number; offset: number; lag: number }>;
}
interface StreamInfo {
  name: string;
  partitions: Array<{ partition: number; firstOffset: number; nextOffset: number }>;
}

const json = async (res: Response) => ({ status: res.status, body: (await res.json()) as any });
const get = (url: string) => fetch(url).then(json);
const post = (url: string, body: unknown) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then(json);

describe('named consumer positions in cluster mode (real broker, real processes)', () => {
  it('a position committed through one instance is what the other lists and reads on from, per partition, with its lag; bad positions are 400, unknown streams 404, acknowledgements 501', async () => {
    const [a, b] = run.instances as [typeof run.instances[0], typeof run.instances[0]];
    const topic = `${run.names.prefix}.orders`;

    const workload = shopWorkload({ seed: 7, calls: 150, keysPerResource: 30, startMs: Date.parse('2026-12-02T00:00:00Z'), stepMs: 2, idPrefix: `o${Date.now().toString(36)}` });
    const posters = new GatewayPosters(batchesOf(workload.logs, 25), () => [a.url], { concurrency: 1, pauseMs: 0 });
    await posters.done;
    expect(posters.answers.filter((x) => x.status !== 200)).toEqual([]);
    await waitSettled(run, { caughtUp: true, members: 2 });

    const onTopic = await readTopics(run.brokers, [topic]);
    const byPartition = new Map<number, number[]>();
    for (const m of onTopic) byPartition.set(m.partition, [...(byPartition.get(m.partition) ?? []), m.offset].sort((x, y) => x - y));
    const [p, offsets] = [...byPartition].sort(([, x], [, y]) => y.length - x.length)[0]!;
    expect(offsets.length, 'records on the fullest partition').toBeGreaterThanOrEqual(5);
    const streams = (await get(`${b.url}/streams`)).body as StreamInfo[];
    const ranges = streams.find((s) => s.name === 'orders')!.partitions;
    const end = (q: number) => ranges.find((r) => r.partition === q)!.nextOffset;
    const first = (q: number) => ranges.find((r) => r.partition === q)!.firstOffset;
    const q = ranges.map((r) => r.partition).find((x) => x !== p)!;

    // Nobody has committed yet; a consumer with no position reads from the partition's first record.
    expect(await get(`${b.url}/streams/orders/offsets`)).toEqual({ status: 200, body: [] });
    const fresh = await get(`${b.url}/streams/orders/events?consumer=nobody&partition=${p}&limit=2`);
    expect(fresh.body.map((r: { offset: number }) => r.offset)).toEqual(offsets.slice(0, 2));

    // Commit through A: the offset of the last record done with.
    const done = offsets[1]!;
    const committed = await post(`${a.url}/streams/orders/offsets`, { consumer: 'billing', partition: p, offset: done });
    expect(committed).toEqual({ status: 200, body: { consumer: 'billing', partition: p, offset: done, lag: end(p) - done - 1 } });

    // B lists it, with every partition of the topic (-1: nothing done there yet).
    const listed = await get(`${b.url}/streams/orders/offsets`);
    expect(listed.status).toBe(200);
    const expected = (positions: Map<number, number>): Position[] => [{
      consumer: 'billing',
      partitions: ranges.map((r) => {
        const offset = positions.get(r.partition) ?? -1;
        return { partition: r.partition, offset, lag: end(r.partition) - Math.max(first(r.partition), offset + 1) };
      }).sort((x, y) => x.partition - y.partition),
    }];
    expect(listed.body).toEqual(expected(new Map([[p, done]])));

    // B reads on after the committed position; reading moves nothing.
    const page = await get(`${b.url}/streams/orders/events?consumer=billing&partition=${p}&limit=3`);
    expect(page.status).toBe(200);
    expect(page.body.map((r: { partition: number; offset: number }) => [r.partition, r.offset])).toEqual(offsets.slice(2, 5).map((o) => [p, o]));
    expect((await get(`${a.url}/streams/orders/offsets`)).body).toEqual(expected(new Map([[p, done]])));
    // `after` wins over the consumer's position, as in single-node mode.
    const explicit = await get(`${b.url}/streams/orders/events?consumer=billing&partition=${p}&after=${offsets[3]}&limit=1`);
    expect(explicit.body.map((r: { offset: number }) => r.offset)).toEqual([offsets[4]]);

    // Another partition through B keeps the first; two commits of one consumer at once through both instances both land.
    const last = end(q) - 1;
    expect((await post(`${b.url}/streams/orders/offsets`, { consumer: 'billing', partition: q, offset: last })).body).toMatchObject({ offset: last, lag: 0 });
    const both = await Promise.all([
      post(`${a.url}/streams/orders/offsets`, { consumer: 'billing', partition: p, offset: offsets[2] }),
      post(`${b.url}/streams/orders/offsets`, { consumer: 'audit', partition: p, offset: offsets[3] }),
      post(`${b.url}/streams/orders/offsets`, { consumer: 'billing', partition: p, offset: offsets[2] }),
    ]);
    expect(both.map((x) => x.status)).toEqual([200, 200, 200]);
    const after = (await get(`${a.url}/streams/orders/offsets`)).body as Position[];
    expect(after.map((c) => c.consumer)).toEqual(['audit', 'billing']);
    expect(after[1]).toEqual(expected(new Map([[p, offsets[2]!], [q, last]]))[0]);
    expect(after[0]!.partitions.find((x) => x.partition === p)).toEqual({ partition: p, offset: offsets[3], lag: end(p) - offsets[3]! - 1 });
    const next = await get(`${a.url}/streams/orders/events?consumer=billing&partition=${q}`);
    expect(next).toEqual({ status: 200, body: [] });

    // What is refused: past the end, a partition the topic lacks or not named, a malformed offset, an unknown stream.
    const past = await post(`${a.url}/streams/orders/offsets`, { consumer: 'billing', partition: p, offset: end(p) });
    expect(past.status).toBe(400);
    expect(past.body).toMatchObject({ field: 'offset', error: expect.stringContaining(`last offset ${end(p) - 1}`) });
    for (const partition of [PARTITIONS + 5, undefined]) {
      const bad = await post(`${b.url}/streams/orders/offsets`, { consumer: 'billing', partition, offset: 0 });
      expect(bad.status, `partition ${partition}`).toBe(400);
      expect(bad.body).toMatchObject({ field: 'partition', error: expect.stringContaining(`${ranges.length} partitions`) });
    }
    const malformed = await post(`${b.url}/streams/orders/offsets`, { consumer: 'billing', partition: p, offset: -2 });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error).toContain('offset');
    expect((await post(`${b.url}/streams/nope/offsets`, { consumer: 'billing', partition: 0, offset: 0 })).status).toBe(404);
    expect((await get(`${b.url}/streams/nope/offsets`)).status).toBe(404);
    expect((await get(`${b.url}/streams/nope/events?consumer=billing`)).status).toBe(404);
    expect((await get(`${a.url}/streams/orders/offsets`)).body).toEqual(after);

    // Per-event acknowledgements need a store: 501, saying what to do instead.
    const ack = await post(`${b.url}/streams/orders/events/${offsets[0]}/ack`, { consumer: 'billing' });
    expect(ack.status).toBe(501);
    expect(ack.body.error).toMatch(/acknowledgement.*commit offsets per partition instead: POST \/streams\/\{name\}\/offsets/);
    expect((await post(`${b.url}/streams/orders/events/${offsets[0]}/nack`, { consumer: 'billing' })).status).toBe(501);
    expect((await get(`${b.url}/streams/orders/events?consumer=billing&partition=${p}&visibility=30s`)).status).toBe(501);
    const other = await get(`${b.url}/streams/orders/nothing`);
    expect(other.status).toBe(501);
    expect(other.body.error).toContain(run.names.prefix);

    // A group that a Kafka consumer has joined is that consumer's to commit.
    const member = new Kafka({ brokers: run.brokers, logLevel: logLevel.NOTHING }).consumer({ groupId: `${run.names.group}.api.member` });
    try {
      await member.connect();
      await member.subscribe({ topics: [topic] });
      const joined = new Promise((resolve) => member.on(member.events.GROUP_JOIN, resolve));
      void member.run({ eachMessage: async () => undefined });
      await joined;
      const taken = await post(`${a.url}/streams/orders/offsets`, { consumer: 'member', partition: p, offset: 0 });
      expect(taken.status).toBe(409);
      expect(taken.body.error).toContain(`${run.names.group}.api.member`);
    } finally {
      await member.disconnect();
    }
  }, 90_000);
});
