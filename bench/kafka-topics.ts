/**
 * Reading the broker back after a run: partition end offsets (to split messages into phases) and
 * every message of the `bench.*` topics with its broker timestamp. Consuming only after the run keeps
 * a consumer from competing with reflex and the broker for the CPU while it is measured.
 */
import kafkajs, { Kafka, logLevel, type Admin, type IHeaders } from 'kafkajs';

// Not among the names Node detects in kafkajs's CommonJS exports: reach it through the default export.
const { ConfigResourceTypes } = kafkajs;

/** End offset per `topic/partition`; a partition missing from a snapshot had no messages yet. */
export type Watermarks = Map<string, number>;

export interface ReadMessage {
  topic: string;
  partition: number;
  offset: number;
  /** Milliseconds since the epoch: the broker's append time on LogAppendTime topics. */
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: IHeaders;
}

export function benchClient(brokers: string[], clientId: string): Kafka {
  return new Kafka({ brokers, clientId, logLevel: logLevel.NOTHING });
}

export async function benchTopics(admin: Admin, prefix: string): Promise<string[]> {
  return (await admin.listTopics()).filter((t) => t.startsWith(prefix)).sort();
}

export async function watermarks(admin: Admin, topics: string[]): Promise<Watermarks> {
  const marks: Watermarks = new Map();
  for (const topic of topics) {
    for (const p of await admin.fetchTopicOffsets(topic)) marks.set(`${topic}/${p.partition}`, Number(p.high));
  }
  return marks;
}

export function total(marks: Watermarks): number {
  let n = 0;
  for (const high of marks.values()) n += high;
  return n;
}

/** True when `m` was appended after `from` and before `to` were taken. */
export function between(m: ReadMessage, from: Watermarks, to: Watermarks): boolean {
  const key = `${m.topic}/${m.partition}`;
  return m.offset >= (from.get(key) ?? 0) && m.offset < (to.get(key) ?? 0);
}

/** The topic's `message.timestamp.type` as the broker reports it (CreateTime or LogAppendTime). */
export async function timestampType(admin: Admin, topic: string): Promise<string> {
  const res = await admin.describeConfigs({
    resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['message.timestamp.type'] }],
    includeSynonyms: false,
  });
  return res.resources[0]?.configEntries[0]?.configValue ?? 'unknown';
}

/** Consumes every message below `upTo` from the start of `topics`, with a fresh consumer group. */
export async function readAll(client: Kafka, topics: string[], upTo: Watermarks, timeoutMs = 60_000): Promise<ReadMessage[]> {
  const expected = total(upTo);
  const got: ReadMessage[] = [];
  if (expected === 0) return got;
  const consumer = client.consumer({ groupId: `bench-readback-${Date.now()}`, maxBytesPerPartition: 4 << 20 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`read back ${got.length} of ${expected} Kafka messages in ${timeoutMs / 1000} s`)), timeoutMs);
      void consumer.run({
        eachBatch: async ({ batch }) => {
          for (const m of batch.messages) {
            const offset = Number(m.offset);
            if (offset >= (upTo.get(`${batch.topic}/${batch.partition}`) ?? 0)) continue;
            got.push({ topic: batch.topic, partition: batch.partition, offset, timestamp: Number(m.timestamp), key: m.key, value: m.value, headers: m.headers ?? {} });
          }
          if (got.length >= expected) {
            clearTimeout(timer);
            resolve();
          }
        },
      }).catch(reject);
    });
  } finally {
    await consumer.disconnect().catch(() => undefined);
  }
  return got;
}

/** Bytes a message puts on the wire before compression: key, value, header names and values. */
export function messageBytes(m: { key: Buffer | null; value: Buffer | null; headers: IHeaders }): number {
  let n = (m.key?.length ?? 0) + (m.value?.length ?? 0);
  for (const [name, v] of Object.entries(m.headers)) {
    n += name.length;
    for (const part of Array.isArray(v) ? v : [v]) n += part === undefined ? 0 : Buffer.byteLength(part);
  }
  return n;
}
