import { Kafka, Partitioners, logLevel, type KafkaMessage } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKafka, type KafkaTestbed } from '../../testbed/kafka.js';

// A real Kafka broker (testbed/kafka.ts): the first run downloads its jars with Maven, hence the long hook timeout.
let kafka: KafkaTestbed;
beforeAll(async () => {
  kafka = await startKafka();
}, 300_000);
afterAll(async () => {
  await kafka?.stop();
});

describe('Kafka testbed broker', () => {
  it('creates a topic, produces keyed messages with headers and consumes them in per-key order', async () => {
    const client = new Kafka({ brokers: kafka.brokers, clientId: 'testbed-test', logLevel: logLevel.NOTHING });
    const topic = `testbed-${Date.now()}`;
    const admin = client.admin();
    await admin.connect();
    expect(await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true })).toBe(true);
    const meta = await admin.fetchTopicMetadata({ topics: [topic] });
    expect(meta.topics[0]!.partitions).toHaveLength(3);
    await admin.disconnect();

    const sent = Array.from({ length: 10 }, (_, i) => ({
      key: `order-${i % 3}`,
      value: JSON.stringify({ seq: i }),
      headers: { 'ce-id': `id-${i}`, 'ce-type': 'com.shop.OrderPlaced' },
    }));
    const producer = client.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    await producer.send({ topic, messages: sent });
    await producer.disconnect();

    const got: KafkaMessage[] = [];
    const consumer = client.consumer({ groupId: `${topic}-group` });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const all = new Promise<void>((resolve) => {
      void consumer.run({
        eachMessage: async ({ message }) => {
          got.push(message);
          if (got.length === sent.length) resolve();
        },
      });
    });
    await Promise.race([all, new Promise((_, reject) => setTimeout(() => reject(new Error(`consumed ${got.length}/10`)), 25_000))]);
    await consumer.disconnect();

    const decoded = got.map((m) => ({
      key: m.key!.toString(),
      value: m.value!.toString(),
      headers: Object.fromEntries(Object.entries(m.headers ?? {}).map(([k, v]) => [k, String(v)])),
    }));
    // Partitions interleave, but each key lives on one partition, so its messages arrive in send order.
    const byKey = (list: { key: string; value: string }[], key: string) => list.filter((m) => m.key === key).map((m) => m.value);
    for (const key of ['order-0', 'order-1', 'order-2']) expect(byKey(decoded, key)).toEqual(byKey(sent, key));
    expect([...decoded].sort((a, b) => a.headers['ce-id']!.localeCompare(b.headers['ce-id']!, 'en', { numeric: true }))).toEqual(sent);
  });

  it('does not create topics on demand', async () => {
    const client = new Kafka({ brokers: kafka.brokers, logLevel: logLevel.NOTHING, retry: { retries: 1 } });
    const admin = client.admin();
    await admin.connect();
    const producer = client.producer({ allowAutoTopicCreation: true, createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    await expect(producer.send({ topic: 'testbed-never-created', messages: [{ value: 'x' }] })).rejects.toThrow();
    expect(await admin.listTopics()).not.toContain('testbed-never-created');
    await producer.disconnect();
    await admin.disconnect();
  });
});
