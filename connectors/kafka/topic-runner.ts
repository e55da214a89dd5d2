import { Kafka, type Consumer, type ConsumerRunConfig } from 'kafkajs';
import type { ClusterSinkContext, ClusterSinkRunner, StreamRecord } from '../../src/sdk/index.js';
import { kafkaClientConfig, type KafkaConnection } from './connection.js';
import { LastingConsumer } from './lasting-consumer.js';
import { streamRecords } from './records.js';

/** Delivers one batch of one topic partition; `position` names that partition for the sink's own offsets. */
export type DeliverPartition = (records: StreamRecord[], position: string) => Promise<void>;

const FIRST_RETRY_MS = 500;
const LONGEST_RETRY_MS = 30_000;

/**
 * A sink in cluster mode as a consumer group of its own over the output topics (read_committed):
 * each fetched batch of a partition is delivered whole (in offset order, with composite offsets,
 * see records.ts), retried with backoff while it fails, then its offset committed. A partition is
 * delivered by one instance at a time, so a sink that keeps its own offsets per `position` (the
 * topic partition) writes each record once; others get each at least once, in order per key.
 */
export class TopicSinkRunner implements ClusterSinkRunner {
  private readonly kafka: Kafka;
  private consumer: LastingConsumer | null = null;
  private stopping = false;

  constructor(private readonly ctx: ClusterSinkContext, private readonly deliver: DeliverPartition, private readonly options: { open?(): Promise<void>; close?(): Promise<void> } = {}) {
    this.kafka = new Kafka(kafkaClientConfig(ctx.kafka as KafkaConnection, ctx.logger, { retries: 8, logs: 'folded' }));
  }

  async start(): Promise<void> {
    await this.options.open?.();
    this.consumer = sinkGroup(this.kafka, this.ctx, 'postgres', (consumer) => ({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 4,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
        const stream = this.ctx.topics.get(batch.topic)!;
        const records = streamRecords(batch.messages, stream, batch.partition);
        const position = `${batch.topic}#${batch.partition}`;
        for (let wait = FIRST_RETRY_MS; records.length > 0; wait = Math.min(wait * 2, LONGEST_RETRY_MS)) {
          try {
            await this.serially(() => this.deliver(records, position));
            break;
          } catch (err) {
            this.ctx.logger.warn('delivery failed; trying again', { topic: batch.topic, partition: batch.partition, records: records.length, error: (err as Error).message, retryInMs: wait });
            for (const until = Date.now() + wait; Date.now() < until;) {
              if (!isRunning() || isStale() || this.stopping) return;
              await heartbeat().catch(() => undefined);
              await new Promise((r) => setTimeout(r, Math.min(1_000, until - Date.now())));
            }
          }
        }
        if (batch.messages.length === 0) return;
        resolveOffset(batch.lastOffset());
        await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: String(Number(batch.lastOffset()) + 1) }]);
      },
    }));
    await this.consumer.start();
  }

  /** Sinks deliver one batch at a time (a postgres sink has one connection); partitions still fetch in parallel. */
  private tail: Promise<unknown> = Promise.resolve();
  private serially<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn);
    this.tail = run.catch(() => undefined);
    return run;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.consumer?.stop().catch(() => undefined);
    await this.options.close?.();
  }
}

/**
 * A sink's consumer of the output topics in cluster mode: its own group, read_committed, from the
 * beginning of what is kept; started again after a crash kafkajs gives up on.
 */
export function sinkGroup(kafka: Kafka, ctx: ClusterSinkContext, name: string, run: (consumer: Consumer) => ConsumerRunConfig): LastingConsumer {
  return new LastingConsumer({
    kafka, logger: ctx.logger, name: `${name} sink consumer`, run,
    config: {
      groupId: ctx.group, readUncommitted: false, allowAutoTopicCreation: false,
      sessionTimeout: ctx.sessionTimeoutMs, heartbeatInterval: Math.max(500, Math.floor(ctx.sessionTimeoutMs / 10)),
    },
    subscribe: { topics: [...ctx.topics.keys()], fromBeginning: true },
  });
}
