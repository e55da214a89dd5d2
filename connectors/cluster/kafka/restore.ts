import type { Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import type { Logger } from '../../../src/sdk/index.js';
import { LastingConsumer } from '../../kafka/lasting-consumer.js';

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
  /** `position` when the stall check last looked. */
  seen: number;
  done(records: number): void;
  fail(err: Error): void;
}

/** How often reads are checked for progress. */
const STALL_CHECK_MS = 5_000;

const keyOf = (topic: string, partition: number) => `${topic}\u0000${partition}`;

/**
 * Reads ranges of topic partitions, read_committed, with one consumer of its own (a group of one, so
 * it is assigned every partition of its topics) for every read of this instance; partitions not
 * being read stay paused. What a new owner of a partition restores from the state topic before it
 * processes anything, and what GET /streams/{name}/events reads from an output topic. Reads of one
 * partition run one after another.
 *
 * Its consumer may crash and be started again (a broker outage): the new one has no seeks or pauses,
 * so each join points every read in progress at its position again and pauses every other partition.
 */
export class PartitionReader {
  private readonly consumer: LastingConsumer;
  private readonly reading = new Map<string, Reading>();
  private readonly queues = new Map<string, Promise<unknown>>();
  /** From the start and from each crash of the consumer until its next join. */
  private down = true;
  private stallCheck: NodeJS.Timeout | null = null;

  constructor(kafka: Kafka, topics: string[], groupId: string, private readonly logger: Logger) {
    this.consumer = new LastingConsumer({
      kafka, logger, name: 'partition reader',
      // A short fetch wait: a read that reaches the end of a quiet partition should not wait 5 s for more.
      config: { groupId, readUncommitted: false, sessionTimeout: 30_000, maxWaitTimeInMs: 100, allowAutoTopicCreation: false },
      subscribe: { topics, fromBeginning: true },
      run: (consumer) => ({ autoCommit: false, partitionsConsumedConcurrently: 4, eachBatch: (payload) => this.eachBatch(consumer, payload) }),
      onJoin: (consumer, assignment) => this.joinedWith(consumer, assignment),
      onCrash: () => (this.down = true),
      listen: (consumer) => {
        // A batch of nothing but transaction markers is not handed to eachBatch; its end is seen here.
        consumer.on(consumer.events.END_BATCH_PROCESS, (e) => {
          const p = e.payload;
          const r = this.reading.get(keyOf(p.topic, p.partition));
          // Batches with records went through eachBatch; here only those filtered empty, fetched from
          // where the read is (compaction may leave a gap before their first offset, never after).
          if (!r || p.batchSize > 0 || Number(p.firstOffset) < r.position) return;
          r.position = Number(p.lastOffset) + 1;
          if (r.position >= r.end) this.finish(r);
        });
      },
    });
  }

  async start(): Promise<void> {
    await this.consumer.start();
    this.stallCheck = setInterval(() => this.nudgeStalled(), STALL_CHECK_MS);
    this.stallCheck.unref();
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

  /** Gives up a read in progress (a restore of a partition that was revoked). */
  cancel(topic: string, partition: number): void {
    const r = this.reading.get(keyOf(topic, partition));
    if (!r) return;
    this.reading.delete(keyOf(topic, partition));
    this.pause(topic, partition);
    r.fail(new Error(`the read of ${topic} partition ${partition} was cancelled`));
  }

  async stop(): Promise<void> {
    if (this.stallCheck) clearInterval(this.stallCheck);
    for (const r of [...this.reading.values()]) this.cancel(r.topic, r.partition);
    await this.consumer.stop().catch((err: Error) => this.logger.warn('partition reader did not disconnect cleanly', { error: err.message }));
  }

  private async readNow(topic: string, partition: number, from: number, end: number, take: Reading['take']): Promise<number> {
    if (from >= end) return 0;
    return new Promise<number>((resolve, reject) => {
      const r: Reading = { topic, partition, end, position: from, seen: from, take, records: 0, done: resolve, fail: reject };
      this.reading.set(keyOf(topic, partition), r);
      // Between a crash and the next join the consumer has nothing to seek: the join points it.
      if (!this.down) this.point(r);
    });
  }

  private async eachBatch(consumer: Consumer, { batch, resolveOffset, isStale }: EachBatchPayload): Promise<void> {
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
  }

  /** A new consumer is in: only the partitions being read are fetched, each from where its read is. */
  private joinedWith(consumer: Consumer, assignment: Record<string, number[]>): void {
    const idle = Object.entries(assignment).map(([topic, partitions]) => ({ topic, partitions: partitions.filter((p) => !this.reading.has(keyOf(topic, p))) }));
    consumer.pause(idle.filter((t) => t.partitions.length > 0));
    for (const r of this.reading.values()) this.point(r);
    this.down = false;
  }

  /** Fetches the read's partition from where the read is; without a consumer, the next join does. */
  private point(r: Reading): void {
    const consumer = this.consumer.current;
    try {
      consumer?.seek({ topic: r.topic, partition: r.partition, offset: String(r.position) });
      consumer?.resume([{ topic: r.topic, partitions: [r.partition] }]);
    } catch (err) {
      this.logger.debug('partition reader is not running; the read goes on at its next join', { topic: r.topic, partition: r.partition, error: (err as Error).message });
    }
  }

  private pause(topic: string, partition: number): void {
    try {
      this.consumer.current?.pause([{ topic, partitions: [partition] }]);
    } catch {
      // Not running: the next join pauses every partition not being read.
    }
  }

  /** A read that did not move since the last check is pointed at its position again (a seek lost in a restart). */
  private nudgeStalled(): void {
    if (this.down) return;
    for (const r of this.reading.values()) {
      if (r.position === r.seen) this.point(r);
      r.seen = r.position;
    }
  }

  private finish(r: Reading): void {
    if (this.reading.get(keyOf(r.topic, r.partition)) !== r) return;
    this.reading.delete(keyOf(r.topic, r.partition));
    this.pause(r.topic, r.partition);
    r.done(r.records);
  }
}
