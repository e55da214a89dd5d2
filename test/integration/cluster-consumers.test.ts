import { Kafka, KafkaJSNonRetriableError, type Consumer } from 'kafkajs';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PartitionReader } from '../../connectors/cluster/kafka/restore.js';
import { kafkaClientConfig } from '../../connectors/kafka/connection.js';
import { LastingConsumer } from '../../connectors/kafka/lasting-consumer.js';
import { createLogger } from '../../src/logger.js';
import { startKafka, type KafkaTestbed } from '../../testbed/kafka.js';

// The consumers cluster mode runs on must outlive a broker outage (issue 17: a fresh-clone run left a
// partition "restoring" for good after the broker came back). Real broker, paused and resumed.

let broker: KafkaTestbed;
const lines: string[] = [];
const logger = createLogger({ level: 'debug', write: (line) => lines.push(line) });

beforeAll(async () => {
  // Its own broker: pausing the shared one would disturb other tests.
  broker = await startKafka({ reuse: false });
}, 120_000);
afterAll(async () => {
  await broker?.stop();
});

function client(): Kafka {
  // Few retries, as the cluster engine uses: a dead broker crashes the consumers quickly.
  return new Kafka(kafkaClientConfig({ brokers: broker.brokers, clientId: `t-${randomUUID().slice(0, 8)}` }, logger, { retries: 3, logs: 'folded' }));
}

async function topicWith(kafka: Kafka, counts: number[]): Promise<string> {
  const topic = `reads-${randomUUID().slice(0, 8)}`;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: counts.length }], waitForLeaders: true });
  await admin.disconnect();
  const producer = kafka.producer();
  await producer.connect();
  for (const [partition, count] of counts.entries()) {
    await producer.send({ topic, acks: -1, messages: Array.from({ length: count }, (_, i) => ({ partition, key: `k${i}`, value: `${partition}:${i}` })) });
  }
  await producer.disconnect();
  return topic;
}

/** Rejects naming `what` instead of letting the test time out without saying which wait hung. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([promise, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms))]);
}

async function until(test: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`${what} within ${ms} ms; log:\n${lines.slice(-30).join('\n')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('cluster consumers across a broker outage (real broker)', () => {
  it('a partition read asked for while the broker is down finishes once it is back; cancelling one then does not throw', async () => {
    const kafka = client();
    const topic = await topicWith(kafka, [400, 300]);
    const reader = new PartitionReader(kafka, [topic], `t.reads.${randomUUID()}`, logger);
    await reader.start();
    try {
      const first: string[] = [];
      expect(await within(reader.read(topic, 0, 0, 400, (m) => (first.push(m.value!.toString()), true)), 30_000, 'the first read')).toBe(400);
      expect(first).toEqual(Array.from({ length: 400 }, (_, i) => `0:${i}`));

      const mark = lines.length;
      await broker.pause();
      // The reader's consumer loses the broker: kafkajs crashes it (and restarts it, or gives up).
      await until(() => lines.slice(mark).some((l) => /Crash|starting a new one/.test(l)), 60_000, 'the reader consumer did not crash');

      const during: string[] = [];
      const read = reader.read(topic, 1, 100, 300, (m) => (during.push(m.value!.toString()), true));
      const cancelled = reader.read(topic, 0, 0, 400, () => true);
      await new Promise((r) => setTimeout(r, 500));
      // What a task does when its open fails: cancelling while the consumer is down must not throw.
      expect(() => reader.cancel(topic, 0)).not.toThrow();
      expect(() => reader.cancel(topic, 1)).not.toThrow();
      await expect(cancelled).rejects.toThrow(/cancelled/);
      const again = reader.read(topic, 1, 100, 300, (m) => (during.push(m.value!.toString()), true));
      await expect(read).rejects.toThrow(/cancelled/);

      await broker.resume();
      expect(await within(again, 60_000, 'the read asked for during the outage')).toBe(200);
      expect(during).toEqual(Array.from({ length: 200 }, (_, i) => `1:${i + 100}`));
      // And the reader goes on reading after it.
      const after: string[] = [];
      expect(await within(reader.read(topic, 0, 350, 400, (m) => (after.push(m.value!.toString()), true)), 30_000, 'a read after the outage')).toBe(50);
      expect(after[0]).toBe('0:350');
    } finally {
      await reader.stop();
    }
  }, 240_000);

  it('a consumer kafkajs will not restart (a non-retriable error) is started again and consumes the rest', async () => {
    const kafka = client();
    const topic = await topicWith(kafka, [50]);
    const seen = new Set<string>();
    let failed = false;
    const mark = lines.length;
    const lasting = new LastingConsumer({
      kafka, logger, name: 'test consumer',
      config: { groupId: `t.${randomUUID()}`, sessionTimeout: 10_000, heartbeatInterval: 1_000 },
      subscribe: { topics: [topic], fromBeginning: true },
      run: (consumer: Consumer) => ({
        autoCommit: false,
        eachBatchAutoResolve: false,
        eachBatch: async ({ batch, resolveOffset }) => {
          if (!failed) {
            failed = true;
            throw new KafkaJSNonRetriableError('a handler failed for good');
          }
          for (const m of batch.messages) seen.add(m.value!.toString());
          resolveOffset(batch.lastOffset());
          await consumer.commitOffsets([{ topic, partition: batch.partition, offset: String(Number(batch.lastOffset()) + 1) }]);
        },
      }),
    });
    await lasting.start();
    try {
      await until(() => seen.size === 50, 60_000, 'the consumer did not consume every record after its crash');
      expect(lines.slice(mark).some((l) => l.includes('test consumer: the consumer stopped and kafkajs does not restart it; starting a new one'))).toBe(true);
    } finally {
      await lasting.stop();
    }
  }, 120_000);
});
