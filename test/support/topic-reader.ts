/**
 * Reads whole topics as a consumer of reflex's output would: kafkajs with a fresh consumer group,
 * from the beginning, read_committed (its default: aborted transactions are never seen), until
 * every partition reached the end offset it had when the read started.
 */
import { Kafka, logLevel } from 'kafkajs';

export interface TopicMessage {
  topic: string;
  partition: number;
  offset: number;
  key: string | null;
  /** The value's text, or null for a tombstone. */
  value: string | null;
  headers: Record<string, string>;
}

let reads = 0;

export async function readTopics(brokers: string[], topics: string[], timeoutMs = 30_000): Promise<TopicMessage[]> {
  const kafka = new Kafka({ brokers, clientId: 'cluster-test-reader', logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  // Under read_committed the end offsets listed are the last stable offsets: what a consumer can reach.
  const ends = new Map<string, number>();
  try {
    for (const topic of topics) {
      for (const p of await admin.fetchTopicOffsets(topic)) if (Number(p.high) > 0) ends.set(`${topic}/${p.partition}`, Number(p.high));
    }
  } finally {
    await admin.disconnect();
  }
  const got: TopicMessage[] = [];
  if (ends.size === 0) return got;

  const consumer = kafka.consumer({ groupId: `cluster-test-reader-${process.pid}-${Date.now()}-${++reads}` });
  const position = new Map<string, number>();
  const remaining = () => [...ends].filter(([tp, end]) => (position.get(tp) ?? 0) < end);
  try {
    await consumer.connect();
    await consumer.subscribe({ topics, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        const left = remaining().map(([tp, end]) => `${tp} at ${position.get(tp) ?? 0} of ${end}`);
        reject(new Error(`reading ${topics.join(', ')}: not at the end after ${timeoutMs} ms (${left.join('; ')})`));
      }, timeoutMs);
      // A batch's last offset counts transaction markers and aborted records, which are never delivered.
      consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
        const tp = `${payload.topic}/${payload.partition}`;
        position.set(tp, Math.max(position.get(tp) ?? 0, Number(payload.lastOffset) + 1));
        if (remaining().length === 0) {
          clearTimeout(timer);
          resolve();
        }
      });
      void consumer.run({
        eachMessage: async ({ topic, partition, message }) => {
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
          got.push({ topic, partition, offset: Number(message.offset), key: message.key?.toString() ?? null, value: message.value?.toString() ?? null, headers });
        },
      }).catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  // Only what was there when the read started: later records are for the next read.
  return got.filter((m) => m.offset < (ends.get(`${m.topic}/${m.partition}`) ?? 0));
}

/** Topics whose name starts with `prefix`. */
export async function topicsWithPrefix(brokers: string[], prefix: string): Promise<string[]> {
  const admin = new Kafka({ brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    return (await admin.listTopics()).filter((t) => t.startsWith(prefix)).sort();
  } finally {
    await admin.disconnect();
  }
}
