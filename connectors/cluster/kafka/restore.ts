import type { Consumer, Kafka, KafkaMessage } from 'kafkajs';
import type { Logger } from '../../../src/sdk/index.js';

interface Reading {
  topic: string;
  partition: number;
  /** Offsets below this are read (the partition's stable end when the read began). */
  end: number;
  /** The offset the next batch must have been fetched from: a batch fetched before this read's seek is stale. */
  position: number;
  /** Takes a record; false once it wants no more. */
  take(message: KafkaMessage): boolean;
  records: number;
  done(records: number): void;
  fail(err: Error): void;
}

const keyOf = (topic: string, partition: number) => `${topic}\u0000${partition}`;

/**
 * Reads ranges of topic partitions, read_committed, with one consumer of its own (a group of one, so
 * it is assigned every partition of its topics) for every read of this instance; partitions not
 * being read stay paused. What a new owner of a partition restores from the state topic before it
 * processes anything, and what GET /streams/{name}/events reads from an output topic. Reads of one
 * partition run one after another.
 */
export class PartitionReader {
  private consumer: Consumer | null = null;
  private joined: Promise<void> | null = null;
  private readonly reading = new Map<string, Reading>();
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(private readonly kafka: Kafka, private readonly topics: string[], private readonly groupId: string, private readonly logger: Logger) {}

  async start(): Promise<void> {
    // A short fetch wait: a read that reaches the end of a quiet partition should not wait 5 s for more.
    const consumer = this.kafka.consumer({ groupId: this.groupId, readUncommitted: false, sessionTimeout: 30_000, maxWaitTimeInMs: 100, allowAutoTopicCreation: false });
    this.consumer = consumer;
    this.joined = new Promise((resolve) => {
      consumer.on(consumer.events.GROUP_JOIN, () => resolve());
    });
    // A batch of nothing but transaction markers is not handed to eachBatch; its end is seen here.
    consumer.on(consumer.events.END_BATCH_PROCESS, (e) => {
      const p = e.payload as { topic: string; partition: number; firstOffset: string; lastOffset: string; batchSize: number };
      const r = this.reading.get(keyOf(p.topic, p.partition));
      // Batches with records went through eachBatch; here only those filtered empty, fetched from
      // where the read is (compaction may leave a gap before their first offset, never after).
      if (!r || p.batchSize > 0 || Number(p.firstOffset) < r.position) return;
      r.position = Number(p.lastOffset) + 1;
      if (r.position >= r.end) this.finish(r);
    });
    await consumer.connect();
    await consumer.subscribe({ topics: this.topics, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: 4,
      eachBatch: async ({ batch, resolveOffset, isStale }) => {
        const r = this.reading.get(keyOf(batch.topic, batch.partition));
        if (!r) {
          consumer.pause([{ topic: batch.topic, partitions: [batch.partition] }]);
          return;
        }
        // Fetched before this read's seek (kafkajs hands out batches already queued): applying it
        // would start in the wrong place. It is fetched again from where the read is.
        if (isStale()) return;
        const fetchedFrom = Number((batch as unknown as { fetchedOffset: string }).fetchedOffset);
        if (fetchedFrom !== r.position) {
          consumer.seek({ topic: r.topic, partition: r.partition, offset: String(r.position) });
          return;
        }
        for (const m of batch.messages) {
          if (Number(m.offset) >= r.end) break;
          r.records++;
          r.position = Number(m.offset) + 1;
          if (!r.take(m)) {
            this.finish(r);
            return;
          }
        }
        resolveOffset(batch.lastOffset());
        r.position = Math.max(r.position, Number(batch.lastOffset()) + 1);
        if (r.position >= r.end) this.finish(r);
      },
    });
  }

  /**
   * Reads `partition` of `topic` from `from` up to `end` (exclusive) into `take`, until it returns
   * false; resolves with the records taken. Waits for an earlier read of the same partition.
   */
  read(topic: string, partition: number, from: number, end: number, take: Reading['take']): Promise<number> {
    const key = keyOf(topic, partition);
    const run = (this.queues.get(key) ?? Promise.resolve()).catch(() => undefined).then(() => this.readNow(topic, partition, from, end, take));
    this.queues.set(key, run);
    void run.finally(() => this.queues.get(key) === run && this.queues.delete(key)).catch(() => undefined);
    return run;
  }

  private async readNow(topic: string, partition: number, from: number, end: number, take: Reading['take']): Promise<number> {
    if (from >= end) return 0;
    await this.joined;
    const consumer = this.consumer!;
    return new Promise<number>((resolve, reject) => {
      this.reading.set(keyOf(topic, partition), { topic, partition, end, position: from, take, records: 0, done: resolve, fail: reject });
      consumer.seek({ topic, partition, offset: String(from) });
      consumer.resume([{ topic, partitions: [partition] }]);
    });
  }

  /** Gives up a read in progress (a restore of a partition that was revoked). */
  cancel(topic: string, partition: number): void {
    const r = this.reading.get(keyOf(topic, partition));
    if (!r) return;
    this.reading.delete(keyOf(topic, partition));
    this.consumer?.pause([{ topic, partitions: [partition] }]);
    r.fail(new Error(`the read of ${topic} partition ${partition} was cancelled`));
  }

  async stop(): Promise<void> {
    for (const r of [...this.reading.values()]) this.cancel(r.topic, r.partition);
    await this.consumer?.disconnect().catch((err: Error) => this.logger.warn('partition reader did not disconnect cleanly', { error: err.message }));
  }

  private finish(r: Reading): void {
    if (this.reading.get(keyOf(r.topic, r.partition)) !== r) return;
    this.reading.delete(keyOf(r.topic, r.partition));
    this.consumer?.pause([{ topic: r.topic, partitions: [r.partition] }]);
    r.done(r.records);
  }
}
