import type { Consumer, Kafka } from 'kafkajs';
import type { Logger } from '../../../src/sdk/index.js';

interface Restoring {
  /** Offsets below this are the state to read (the partition's end when the restore began). */
  end: number;
  /** The offset the next batch must have been fetched from: a batch fetched before this restore's seek is stale. */
  position: number;
  apply(key: string, value: string | null): void;
  records: number;
  done(records: number): void;
  fail(err: Error): void;
}

/**
 * Reads partitions of the state topic back from their beginning, read_committed: what a new owner of
 * a partition restores before it processes anything. One consumer of its own (a group of one, so it
 * is assigned every partition) serves every restore of this instance; partitions not being restored
 * stay paused.
 */
export class StateReader {
  private consumer: Consumer | null = null;
  private joined: Promise<void> | null = null;
  private readonly restoring = new Map<number, Restoring>();

  constructor(private readonly kafka: Kafka, private readonly topic: string, private readonly groupId: string, private readonly logger: Logger) {}

  async start(): Promise<void> {
    const consumer = this.kafka.consumer({ groupId: this.groupId, readUncommitted: false, sessionTimeout: 30_000, allowAutoTopicCreation: false });
    this.consumer = consumer;
    this.joined = new Promise((resolve) => {
      consumer.on(consumer.events.GROUP_JOIN, () => resolve());
    });
    // A batch of nothing but transaction markers is not handed to eachBatch; its end is seen here.
    consumer.on(consumer.events.END_BATCH_PROCESS, (e) => {
      const p = e.payload as { topic: string; partition: number; firstOffset: string; lastOffset: string; batchSize: number };
      const r = this.restoring.get(p.partition);
      // Batches with records went through eachBatch; here only those filtered empty, fetched from
      // where the restore is (compaction may leave a gap before their first offset, never after).
      if (!r || p.batchSize > 0 || Number(p.firstOffset) < r.position) return;
      r.position = Number(p.lastOffset) + 1;
      if (Number(p.lastOffset) >= r.end - 1) this.finish(p.partition);
    });
    await consumer.connect();
    await consumer.subscribe({ topic: this.topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: 4,
      eachBatch: async ({ batch, resolveOffset, isStale }) => {
        const r = this.restoring.get(batch.partition);
        if (!r) {
          consumer.pause([{ topic: this.topic, partitions: [batch.partition] }]);
          return;
        }
        // Fetched before this restore's seek to the beginning (kafkajs hands out batches already
        // queued): applying it would start the state in the middle. It is fetched again from where
        // the restore is.
        if (isStale()) return;
        const fetchedFrom = Number((batch as unknown as { fetchedOffset: string }).fetchedOffset);
        if (fetchedFrom !== r.position) {
          consumer.seek({ topic: this.topic, partition: batch.partition, offset: String(r.position) });
          return;
        }
        for (const m of batch.messages) {
          if (Number(m.offset) >= r.end) break;
          r.apply(m.key?.toString() ?? '', m.value ? m.value.toString() : null);
          r.records++;
        }
        resolveOffset(batch.lastOffset());
        r.position = Number(batch.lastOffset()) + 1;
        if (Number(batch.lastOffset()) >= r.end - 1) this.finish(batch.partition);
      },
    });
  }

  /** Reads partition `partition` up to `end` (exclusive) into `apply`; resolves with the records read. */
  async restore(partition: number, end: number, apply: Restoring['apply']): Promise<number> {
    if (end <= 0) return 0;
    await this.joined;
    if (this.restoring.has(partition)) throw new Error(`partition ${partition} is being restored already`);
    const consumer = this.consumer!;
    return new Promise<number>((resolve, reject) => {
      this.restoring.set(partition, { end, position: 0, apply, records: 0, done: resolve, fail: reject });
      consumer.seek({ topic: this.topic, partition, offset: '0' });
      consumer.resume([{ topic: this.topic, partitions: [partition] }]);
    });
  }

  /** Gives up a restore in progress (the partition was revoked). */
  cancel(partition: number): void {
    const r = this.restoring.get(partition);
    if (!r) return;
    this.restoring.delete(partition);
    this.consumer?.pause([{ topic: this.topic, partitions: [partition] }]);
    r.fail(new Error(`the restore of partition ${partition} was cancelled`));
  }

  async stop(): Promise<void> {
    for (const p of [...this.restoring.keys()]) this.cancel(p);
    await this.consumer?.disconnect().catch((err: Error) => this.logger.warn('state reader did not disconnect cleanly', { error: err.message }));
  }

  private finish(partition: number): void {
    const r = this.restoring.get(partition);
    if (!r) return;
    this.restoring.delete(partition);
    this.consumer?.pause([{ topic: this.topic, partitions: [partition] }]);
    r.done(r.records);
  }
}
