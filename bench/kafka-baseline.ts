/**
 * (e) baseline: kafkajs alone, from the bench process, producing the very messages reflex wrote
 * (same keys, values, headers) the way reflex's Kafka sink does: idempotent producer, acks=all,
 * gzip, one send of up to 500 messages of one stream at a time (the dispatcher's batch). Its rate is
 * the client's ceiling on this broker.
 */
import { CompressionTypes, Partitioners, type Message } from 'kafkajs';
import { performance } from 'node:perf_hooks';
import { benchClient, type ReadMessage } from './kafka-topics.js';

export interface BaselineResult {
  messages: number;
  seconds: number;
  rate: number;
  clientCpu: number;
  brokerCpu: number | null;
}

export async function produceBaseline(brokers: string[], messages: ReadMessage[], batchSize: number, brokerCpu: () => number | null): Promise<BaselineResult> {
  const client = benchClient(brokers, 'bench-baseline');
  const topic = `bench-baseline-${Date.now()}`;
  const admin = client.admin();
  await admin.connect();
  // As reflex creates its topics: 3 partitions, replication 1.
  await admin.createTopics({ topics: [{ topic, numPartitions: 3, replicationFactor: 1 }], waitForLeaders: true });
  await admin.disconnect();
  const producer = client.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    const batches = toBatches(messages, batchSize);
    const send = (batch: Message[]) => producer.send({ topic, acks: -1, compression: CompressionTypes.GZIP, messages: batch });
    await send(batches[0] ?? []); // untimed warm-up: metadata and connection, which reflex also had before its clock started
    const [cpu0, broker0] = [process.cpuUsage(), brokerCpu()];
    const start = performance.now();
    for (const batch of batches) await send(batch);
    const seconds = (performance.now() - start) / 1000;
    const [cpu, broker1] = [process.cpuUsage(cpu0), brokerCpu()];
    return {
      messages: messages.length,
      seconds,
      rate: messages.length / seconds,
      clientCpu: (cpu.user + cpu.system) / 1e6 / seconds,
      brokerCpu: broker0 !== null && broker1 !== null ? (broker1 - broker0) / seconds : null,
    };
  } finally {
    await producer.disconnect().catch(() => undefined);
  }
}

/** Batches of up to `size`, each from one source topic, in about the order reflex sent them. */
function toBatches(messages: ReadMessage[], size: number): Message[][] {
  const byTopic = new Map<string, ReadMessage[]>();
  for (const m of messages) {
    const list = byTopic.get(m.topic) ?? [];
    list.push(m);
    byTopic.set(m.topic, list);
  }
  const out: Message[][] = [];
  for (const list of byTopic.values()) {
    // Append time first: one of reflex's sends spans all partitions, so a batch here should too.
    list.sort((a, b) => a.timestamp - b.timestamp || a.partition - b.partition || a.offset - b.offset);
    for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size).map((m) => ({ key: m.key, value: m.value, headers: m.headers })));
  }
  return out;
}
