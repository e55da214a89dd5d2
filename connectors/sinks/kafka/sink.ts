import { CompressionTypes, Kafka, Partitioners, type Admin, type Message, type Producer } from 'kafkajs';
import { Default, defineSink, Type, type StreamRecord } from '../../../src/sdk/index.js';
import { KAFKA_CONNECTION_SCHEMA, kafkaClientConfig } from '../../kafka/connection.js';
import { useSynchronousGzip } from './gzip-codec.js';
import { storedToMessages, toMessages, type StoredRecord } from './messages.js';

const COMPRESSION = { none: CompressionTypes.None, gzip: CompressionTypes.GZIP, snappy: CompressionTypes.Snappy, lz4: CompressionTypes.LZ4, zstd: CompressionTypes.ZSTD };

/**
 * Writes each stream to its own topic. Topics are created when missing (`*.changelog` compacted);
 * the producer is idempotent with acks=all, so the dispatcher commits its offset only after the
 * brokers have the batch, and a retry after a lost answer does not duplicate it.
 */
export const kafkaSink = defineSink({
  type: 'kafka',
  summary: 'writes each stream to a Kafka topic (CloudEvents binary or structured mode; changelogs compacted, with tombstones)',
  config: Type.Object({
    ...KAFKA_CONNECTION_SCHEMA,
    topic: Default(Type.String({ description: 'topic name per stream; {stream} is replaced, e.g. shop.{stream}' }), '{stream}'),
    mode: Default(Type.Unsafe<'binary' | 'structured'>({ enum: ['binary', 'structured'], description: 'CloudEvents Kafka binding mode for events' }), 'binary'),
    partitions: Default(Type.Integer({ minimum: 1, description: 'partitions of topics reflex creates' }), 3),
    replicationFactor: Default(Type.Integer({ minimum: 1, description: 'replication factor of topics reflex creates' }), 1),
    compression: Default(Type.Unsafe<keyof typeof COMPRESSION>({
      enum: Object.keys(COMPRESSION),
      description: 'producer compression (snappy, lz4, zstd need a kafkajs codec)',
    }), 'gzip'),
    topicConfig: Type.Optional(Type.Record(Type.String(), Type.String(), { description: 'extra configs for topics reflex creates' })),
  }, { additionalProperties: false }),
  name: { text: 'kafka', of: () => 'kafka' },
  streams: 'streams to write',
  create(config, ctx) {
    // kafkajs retries a send a few times; past that the dispatcher retries the whole batch with backoff.
    const client = new Kafka(kafkaClientConfig(config, ctx.logger, { retries: 8, logs: 'folded' }));
    const { topic: template, mode } = config;
    const compression = COMPRESSION[config.compression];
    if (config.compression === 'gzip') useSynchronousGzip();
    let producer: Producer | null = null;
    let admin: Admin | null = null;
    const ready = new Set<string>();

    async function connect(): Promise<{ producer: Producer; admin: Admin }> {
      if (!producer) {
        // The default (murmur2) partitioner is Java's: a key lands where a Java producer would put it.
        const p = client.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
        await p.connect();
        producer = p;
      }
      if (!admin) {
        const a = client.admin();
        await a.connect();
        admin = a;
      }
      return { producer, admin };
    }

    async function ensureTopic(a: Admin, topic: string, changelog: boolean): Promise<void> {
      if (ready.has(topic)) return;
      const existing = await a.listTopics();
      if (!existing.includes(topic)) {
        const configEntries = Object.entries({ ...(changelog ? { 'cleanup.policy': 'compact' } : {}), ...config.topicConfig }).map(([name, value]) => ({ name, value }));
        await a.createTopics({
          topics: [{ topic, numPartitions: config.partitions, replicationFactor: config.replicationFactor, configEntries }],
          waitForLeaders: true,
        });
        ctx.logger.info('created topic', { topic, compacted: changelog });
      }
      ready.add(topic);
    }

    const topicOf = (stream: string) => template.replace(/\{stream\}/g, stream);

    /** One produce request for all of them (kafkajs sends one per broker): one round trip, not one per stream. */
    async function send(topicMessages: Array<{ stream: string; topic: string; messages: Message[] }>): Promise<void> {
      const { producer: p, admin: a } = await connect();
      try {
        for (const t of topicMessages) await ensureTopic(a, t.topic, t.stream.endsWith('.changelog'));
        await p.sendBatch({ acks: -1, compression, topicMessages: topicMessages.map(({ topic, messages }) => ({ topic, messages })) });
      } catch (err) {
        // Look again next time: a topic may have been deleted meanwhile.
        for (const t of topicMessages) ready.delete(t.topic);
        throw err;
      }
    }

    return {
      async deliver(records: StreamRecord[]) {
        if (records.length === 0) return;
        const stream = records[0]!.stream;
        await send([{ stream, topic: topicOf(stream), messages: records.flatMap((r) => toMessages(r, mode)) }]);
      },
      async deliverStored(batches: StoredRecord[][]) {
        const topicMessages = [];
        for (const records of batches) {
          if (records.length === 0) continue;
          const stream = records[0]!.stream;
          const messages: Message[] = [];
          for (const r of records) messages.push(...storedToMessages(r, mode));
          topicMessages.push({ stream, topic: topicOf(stream), messages });
        }
        if (topicMessages.length > 0) await send(topicMessages);
      },
      async close() {
        await producer?.disconnect().catch(() => undefined);
        await admin?.disconnect().catch(() => undefined);
      },
    };
  },
});
