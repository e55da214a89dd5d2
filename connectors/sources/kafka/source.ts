import { Kafka, type Consumer, type EachBatchPayload } from 'kafkajs';
import { defineSource, isAbort, type DecodedEntry } from '../../../src/sdk/index.js';
import { kafkaClientConfig } from '../../kafka/connection.js';
import { decodeMessage } from './decode.js';
import { PartitionProgress } from './progress.js';
import { KafkaSourceConfig } from './schema.js';

/** Messages per store transaction: bounds a transaction and commits progress within a large fetch. */
const CHUNK = 500;
/**
 * Partitions whose batches are stored at the same time (each partition's still one after another,
 * in order): their entries reach the store together and share its group commit, and one
 * partition's offset commit round trip no longer holds the others up.
 */
const PARTITIONS_AT_ONCE = 4;
/** The source's own wait between connection attempts, after kafkajs's retries gave up. */
const BACKOFF = { initialMs: 1_000, maxMs: 60_000 };

/**
 * Consumes raw gateway logs from Kafka topics (Kong's kafka-log, any shipper that writes one log per
 * message). Offsets are committed to the consumer group only after the batch is committed to the
 * store, so a crash in between re-delivers, and the store's dedupe window drops what it already has.
 */
export const kafkaSource = defineSource({
  type: 'kafka',
  summary: 'consumes gateway logs from Kafka topics as a consumer group (Kong kafka-log, ...)',
  config: KafkaSourceConfig,
  name: { text: 'kafka:<topics or pattern>', of: (config) => `kafka:${config.topics ? config.topics.join(',') : `/${config.topicPattern}/`}` },
  format: 'each message value',
  create(config, ctx) {
    const format = ctx.format!;
    const pattern = config.topicPattern === undefined ? null : compilePattern(config.topicPattern);
    const { groupId } = config;
    // Few kafkajs retries: the source reports each failure itself and backs off (see run loop).
    const kafka = new Kafka(kafkaClientConfig(config, ctx.logger, { retries: 3, logs: 'debug' }));
    const log = ctx.logger;

    let stopped = false;
    let consumer: Consumer | null = null;
    let wake: (() => void) | null = null;
    let loop: Promise<void> | null = null;
    const progress = new PartitionProgress();

    async function eachBatch(p: EachBatchPayload): Promise<void> {
      const at = { topic: p.batch.topic, partition: p.batch.partition };
      for (let i = 0; i < p.batch.messages.length; i += CHUNK) {
        // Stopping or rebalanced away: leave the rest uncommitted, it is delivered again.
        if (!p.isRunning() || p.isStale()) return;
        const chunk = p.batch.messages.slice(i, i + CHUNK);
        const entries = chunk.flatMap((m) => decodeMessage(format, at, m, log));
        if (entries.length > 0 && !(await ingest(entries, p))) return;
        p.resolveOffset(chunk[chunk.length - 1]!.offset);
        await p.commitOffsetsIfNecessary(p.uncommittedOffsets());
        progress.consumed(at, chunk, p.batch.highWatermark);
        await p.heartbeat();
      }
    }

    /** Stores the entries; while a sink's backlog is full, ctx.ingest waits (heartbeating). False: stopped or rebalanced meanwhile. */
    async function ingest(entries: DecodedEntry[], p: EachBatchPayload): Promise<boolean> {
      const at = { topic: p.batch.topic, partition: p.batch.partition };
      let waiting = false;
      try {
        await ctx.ingest(entries, {
          whileWaiting: async () => {
            if (!waiting) log.warn('pausing: a sink is behind', at);
            waiting = true;
            if (!p.isRunning() || p.isStale()) return false;
            await p.heartbeat();
            return true;
          },
        });
      } catch (err) {
        if (isAbort(err)) return false;
        throw err;
      }
      if (waiting) log.info('sink backlog below its limit again; consuming', at);
      return true;
    }

    async function topicsToConsume(): Promise<string[]> {
      if (!pattern) return config.topics!;
      const admin = kafka.admin();
      await admin.connect();
      try {
        const matched = (await admin.listTopics()).filter((t) => pattern.test(t)).sort();
        if (matched.length === 0) throw new Error(`no topic matches topicPattern /${config.topicPattern}/`);
        return matched;
      } finally {
        await admin.disconnect().catch(() => undefined);
      }
    }

    /** One consumer from connect to failure; resolves when it ended (stop, or a crash kafkajs will not restart). */
    async function session(): Promise<void> {
      const topics = await topicsToConsume();
      if (stopped) return;
      // Partitions may move to another member between sessions: report only what this one reads.
      progress.reset();
      // A fetch waits at most this long for new messages; stop() waits for the fetch in flight, so keep it short.
      const c = kafka.consumer({ groupId, allowAutoTopicCreation: false, maxWaitTimeInMs: 1_000 });
      consumer = c;
      let ended!: (err: Error) => void;
      const crashed = new Promise<Error>((resolve) => (ended = resolve));
      c.on(c.events.CRASH, ({ payload }) => {
        log.error(payload.restart ? 'Kafka consumer failed; kafkajs restarts it' : 'Kafka consumer failed', { error: payload.error.message });
        if (!payload.restart) ended(payload.error);
      });
      try {
        await c.connect();
        if (stopped) return;
        await c.subscribe({ topics, fromBeginning: config.fromBeginning });
        if (stopped) return;
        await c.run({ autoCommit: false, eachBatchAutoResolve: false, partitionsConsumedConcurrently: PARTITIONS_AT_ONCE, eachBatch });
        if (stopped) return;
        log.info('consuming from Kafka', { topics, groupId });
        progress.connected();
        const stopping = new Promise<null>((resolve) => (wake = () => resolve(null)));
        const err = await Promise.race([crashed, stopping]);
        if (err) throw err;
      } finally {
        await c.disconnect().catch(() => undefined);
        if (consumer === c) consumer = null;
      }
    }

    async function supervise(): Promise<void> {
      let delay = BACKOFF.initialMs;
      while (!stopped) {
        const startedAt = Date.now();
        try {
          await session();
        } catch (err) {
          if (stopped) break;
          // A session that ran a while was healthy: start the backoff over.
          if (Date.now() - startedAt > BACKOFF.maxMs) delay = BACKOFF.initialMs;
          log.error('cannot consume from Kafka; retrying', { brokers: config.brokers, topics: config.topics ?? config.topicPattern, error: (err as Error).message, retryInMs: delay });
          progress.failed(err);
        }
        if (stopped) break;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, delay);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        delay = Math.min(delay * 2, BACKOFF.maxMs);
      }
    }

    return {
      async start() {
        // In the background: a broker that is down must not keep reflex (and its HTTP receivers) from starting.
        loop = supervise();
      },
      async stop() {
        stopped = true;
        wake?.();
        // disconnect() waits for the batch in flight, so nothing is ingested after stop resolves.
        await consumer?.disconnect().catch(() => undefined);
        await loop;
      },
      status: () => progress.status(),
    };
  },
});

function compilePattern(source: string): RegExp {
  try {
    return new RegExp(`^(?:${source})$`);
  } catch (err) {
    throw new Error(`topicPattern is not a valid regular expression: ${(err as Error).message}`);
  }
}
