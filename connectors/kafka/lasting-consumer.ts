import type { Consumer, ConsumerConfig, ConsumerRunConfig, ConsumerSubscribeTopics, Kafka } from 'kafkajs';
import type { Logger } from '../../src/sdk/index.js';

const FIRST_RETRY_MS = 1_000;
const LONGEST_RETRY_MS = 30_000;

export interface LastingConsumerOptions {
  kafka: Kafka;
  config: ConsumerConfig;
  subscribe: ConsumerSubscribeTopics;
  /** How to run a new consumer (its eachBatch is handed the consumer it runs in). */
  run(consumer: Consumer): ConsumerRunConfig;
  /** Each join of the group, with the consumer that joined and what it was assigned (topic: partitions). */
  onJoin?(consumer: Consumer, assignment: Record<string, number[]>): void;
  /**
   * Each crash, restarted or not: nothing is fetched until the next join, and the seeks, pauses and
   * offsets resolved before it are gone (kafkajs starts a new consumer group object).
   */
  onCrash?(error: Error): void;
  /** Other listeners for each new consumer. */
  listen?(consumer: Consumer): void;
  /** What the consumer is for, in the log. */
  name: string;
  logger: Logger;
}

/**
 * A kafkajs consumer that lasts until stopped. kafkajs restarts a crashed consumer only after an error
 * it deems retriable; after any other (seen: a broker outage ending in "Consumer group was not
 * initialized"), the consumer stays stopped, so an instance would stay up with nothing consumed and,
 * for a group, its partitions given to others while it still believed it owned them. This starts a
 * new consumer then, with backoff while that fails.
 */
export class LastingConsumer {
  private consumer: Consumer | null = null;
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;
  private delay = FIRST_RETRY_MS;

  constructor(private readonly opts: LastingConsumerOptions) {}

  /** The consumer running now; null while a new one is being started. */
  get current(): Consumer | null {
    return this.consumer;
  }

  /** Starts the first consumer: connects, subscribes and runs it (a failure here is the caller's). */
  async start(): Promise<void> {
    await this.begin();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.consumer?.disconnect().catch(() => undefined);
  }

  private async begin(): Promise<void> {
    const { kafka, config, logger, name } = this.opts;
    const consumer = kafka.consumer(config);
    this.consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      this.delay = FIRST_RETRY_MS;
      if (this.consumer !== consumer) return;
      // kafkajs emits this inside its join: a listener's error would fail the join.
      try {
        this.opts.onJoin?.(consumer, e.payload.memberAssignment);
      } catch (err) {
        logger.error(`${name}: handling a group join failed`, { error: (err as Error).message });
      }
    });
    consumer.on(consumer.events.CRASH, (e) => {
      if (this.consumer !== consumer) return;
      try {
        this.opts.onCrash?.(e.payload.error);
      } catch (err) {
        logger.error(`${name}: handling a crash failed`, { error: (err as Error).message });
      }
      if (e.payload.restart || this.stopped) return;
      logger.error(`${name}: the consumer stopped and kafkajs does not restart it; starting a new one`, { error: e.payload.error.message, retryInMs: this.delay });
      this.consumer = null;
      this.again(consumer);
    });
    this.opts.listen?.(consumer);
    await consumer.connect();
    await consumer.subscribe(this.opts.subscribe);
    await consumer.run(this.opts.run(consumer));
  }

  private again(previous: Consumer): void {
    this.timer = setTimeout(() => {
      void (async () => {
        await previous.disconnect().catch(() => undefined);
        if (this.stopped) return;
        try {
          await this.begin();
        } catch (err) {
          const failed = this.consumer;
          this.consumer = null;
          if (this.stopped || !failed) return;
          this.delay = Math.min(this.delay * 2, LONGEST_RETRY_MS);
          this.opts.logger.error(`${this.opts.name}: could not start a new consumer; trying again`, { error: (err as Error).message, retryInMs: this.delay });
          this.again(failed);
        }
      })();
    }, this.delay);
    this.timer.unref?.();
  }
}
