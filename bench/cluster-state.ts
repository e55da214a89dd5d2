/**
 * (m) A state topic holding `keys` CDC keys, written directly (not by running the cluster on `keys`
 * creates, which would take minutes): the records a partition owner writes for a live key
 * (src/cluster/partition.ts), key `s|orders|<id>`, value the JSON ResourceState of an order shaped like
 * bench/generate.ts's, each on the partition the exchanges of `<id>` go to (the default partitioner on
 * the resource key, as the cluster's co-partitioning puts it). gzip, as the owners write it.
 */
import { CompressionTypes, Partitioners, type Kafka, type Message } from 'kafkajs';
import type { ResourceState } from '../src/cdc/types.js';
import { Random } from './random.js';

const SEND = 5_000;
const IN_FLIGHT = 4;
const SKUS = [['MUG-CLASSIC', 12.5], ['BEANS-BRAZIL-1KG', 27.5], ['GRINDER-BURR', 189], ['FILTER-V60', 8.9], ['HOODIE-M-GRY', 59]] as const;

export interface StateTopic {
  records: number;
  /** Value bytes before compression. */
  bytes: number;
}

/** Creates `<exchangesTopic>` and its compacted `-state` topic (as the engine would) and fills the state topic. */
export async function writeStateTopic(kafka: Kafka, exchangesTopic: string, partitions: number, keys: number, seed: number): Promise<StateTopic> {
  const stateTopic = `${exchangesTopic}-state`;
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({
      waitForLeaders: true,
      topics: [
        { topic: exchangesTopic, numPartitions: partitions, replicationFactor: 1 },
        { topic: stateTopic, numPartitions: partitions, replicationFactor: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
      ],
    });
  } finally {
    await admin.disconnect();
  }
  const partitionOf = keyPartitioner(exchangesTopic, partitions);
  const rng = new Random(seed);
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  let bytes = 0;
  try {
    let next = 0;
    const sender = async () => {
      while (next < keys) {
        const from = next;
        next = Math.min(keys, next + SEND);
        const messages: Message[] = [];
        for (let i = from; i < next; i++) {
          const id = `ord_${100_000 + i}`;
          const value = JSON.stringify(orderState(id, rng, i));
          bytes += value.length;
          messages.push({ key: `s|orders|${id}`, value, partition: partitionOf(id) });
        }
        await producer.send({ topic: stateTopic, acks: -1, compression: CompressionTypes.GZIP, messages });
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, sender));
  } finally {
    await producer.disconnect();
  }
  return { records: keys, bytes };
}

/** The partition kafkajs's default partitioner (murmur2, as Java's) gives a message keyed `key`. */
function keyPartitioner(topic: string, partitions: number): (key: string) => number {
  const partitioner = Partitioners.DefaultPartitioner();
  const partitionMetadata = Array.from({ length: partitions }, (_, p) => ({ partitionId: p, leader: 1, replicas: [1], isr: [1], partitionErrorCode: 0 }));
  return (key) => partitioner({ topic, partitionMetadata, message: { key, value: null } });
}

function orderState(id: string, rng: Random, i: number): ResourceState {
  const items = Array.from({ length: rng.int(1, 4) }, () => {
    const [sku, unitPrice] = rng.pick(SKUS);
    return { sku, quantity: rng.int(1, 3), unitPrice };
  });
  const time = Date.parse('2026-11-02T09:00:00.000Z') + i * 20;
  const createdAt = new Date(time).toISOString().replace(/\.\d{3}Z$/, 'Z');
  return {
    state: {
      id, customerId: `cus_${rng.int(1001, 60_000)}`, status: rng.pick(['pending', 'paid', 'cancelled']), currency: rng.pick(['EUR', 'GBP', 'USD']),
      total: Math.round(items.reduce((s, x) => s + x.quantity * x.unitPrice, 0) * 100) / 100, items, createdAt,
    },
    deleted: false,
    version: rng.int(1, 4),
    timeMs: time,
    requestId: rng.hex(32),
  };
}
