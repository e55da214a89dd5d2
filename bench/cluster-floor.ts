/**
 * (m) The kafkajs floor of cluster mode's Kafka work, in the bench process: the exchanges a cluster
 * run put on its exchanges topic are produced again (idempotent, acks=all, uncompressed, keyed as
 * before, in sends of one POST's worth, as many in flight as the HTTP load) while a group of one
 * consumes them and copies each fetched batch to an output topic with one transactional producer per
 * partition, offsets committed in the transaction (consume-transform-produce with no transform).
 * Timed from the first send until the group's committed offsets reach the end.
 */
import { CompressionTypes, Partitioners, type Kafka, type Message, type Producer } from 'kafkajs';
import { performance } from 'node:perf_hooks';
import { readTopics } from '../test/support/topic-reader.js';
import { clusterDone } from './cluster-settle.js';

export interface FloorOptions {
  kafka: Kafka;
  brokers: string[];
  /** The exchanges topic of a cluster run, still holding its messages. */
  from: string;
  partitions: number;
  concurrency: number;
  brokerCpu: () => number | null;
}

export interface FloorResult {
  exchanges: number;
  seconds: number;
  /** First send until the last one was acknowledged. */
  producedSeconds: number;
  sendSize: number;
  inFlight: number;
  clientCpu: number;
  brokerCpu: number | null;
}

const SEND_SIZE = 100;

export async function measureEosFloor(o: FloorOptions): Promise<FloorResult> {
  const messages: Message[] = (await readTopics(o.brokers, [o.from], 120_000)).map((m) => ({ key: m.key, value: m.value, headers: m.headers }));
  const [input, output, group] = [`${o.from}.floor-in`, `${o.from}.floor-out`, `${o.from}.floor`];
  const admin = o.kafka.admin();
  await admin.connect();
  await admin.createTopics({ waitForLeaders: true, topics: [input, output].map((topic) => ({ topic, numPartitions: o.partitions, replicationFactor: 1 })) });
  const producers = new Map<number, Producer>();
  const consumer = o.kafka.consumer({ groupId: group, allowAutoTopicCreation: false });
  const front = o.kafka.producer({ idempotent: true, maxInFlightRequests: 5, allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
  try {
    // Connected and joined before the clock starts, as the cluster's instances were.
    for (let p = 0; p < o.partitions; p++) {
      const producer = o.kafka.producer({ transactionalId: `${group}-${p}`, idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
      await producer.connect();
      producers.set(p, producer);
    }
    await front.connect();
    const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
    await consumer.connect();
    await consumer.subscribe({ topic: input, fromBeginning: true });
    void consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: o.partitions,
      eachBatch: async ({ batch }) => {
        if (batch.messages.length === 0) return;
        const tx = await producers.get(batch.partition)!.transaction();
        try {
          await tx.send({ topic: output, acks: -1, compression: CompressionTypes.GZIP, messages: batch.messages.map((m) => ({ key: m.key, value: m.value, headers: m.headers ?? {}, partition: batch.partition })) });
          await tx.sendOffsets({ consumerGroupId: group, topics: [{ topic: input, partitions: [{ partition: batch.partition, offset: String(Number(batch.lastOffset()) + 1) }] }] });
          await tx.commit();
        } catch (err) {
          await tx.abort().catch(() => undefined);
          throw err;
        }
      },
    });
    await joined;

    const [cpu0, broker0] = [process.cpuUsage(), o.brokerCpu()];
    const start = performance.now();
    let next = 0;
    const sender = async () => {
      while (next < messages.length) {
        const chunk = messages.slice(next, (next += SEND_SIZE));
        await front.send({ topic: input, acks: -1, messages: chunk });
      }
    };
    await Promise.all(Array.from({ length: o.concurrency }, sender));
    const producedSeconds = (performance.now() - start) / 1000;
    await clusterDone(admin, input, group);
    const seconds = (performance.now() - start) / 1000;
    const [cpu, broker1] = [process.cpuUsage(cpu0), o.brokerCpu()];
    return {
      exchanges: messages.length, seconds, producedSeconds, sendSize: SEND_SIZE, inFlight: o.concurrency,
      clientCpu: (cpu.user + cpu.system) / 1e6, brokerCpu: broker0 !== null && broker1 !== null ? broker1 - broker0 : null,
    };
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await front.disconnect().catch(() => undefined);
    await Promise.all([...producers.values()].map((p) => p.disconnect().catch(() => undefined)));
    await admin.deleteTopics({ topics: [input, output], timeout: 30_000 }).catch(() => undefined);
    await admin.deleteGroups([group]).catch(() => undefined);
    await admin.disconnect();
  }
}
