import { CompressionTypes, Kafka, Partitioners, type Admin, type Producer } from 'kafkajs';
import type { SinkConnector } from '../../../src/sinks/connector.js';
import type { StreamRecord } from '../../../src/model/records.js';
import { KAFKA_CONNECTION_SCHEMA, kafkaClientConfig, type KafkaConnection } from '../../kafka/connection.js';
import { toMessages } from './messages.js';

interface KafkaSinkConfig extends KafkaConnection {
  name?: string;
  /** Topic per stream: `{stream}` is replaced by the stream name, e.g. `shop.{stream}`. */
  topic?: string;
  streams?: string[];
  mode?: 'binary' | 'structured';
  partitions?: number;
  replicationFactor?: number;
  compression?: 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';
  /** Extra topic configs for the topics reflex creates, e.g. {"retention.ms": "604800000"}. */
  topicConfig?: Record<string, string>;
}

const COMPRESSION = { none: CompressionTypes.None, gzip: CompressionTypes.GZIP, snappy: CompressionTypes.Snappy, lz4: CompressionTypes.LZ4, zstd: CompressionTypes.ZSTD };

/**
 * Writes each stream to its own topic. Topics are created when missing (`*.changelog` compacted);
 * the producer is idempotent with acks=all, so the dispatcher commits its offset only after the
 * brokers have the batch, and a retry after a lost answer does not duplicate it.
 */
export const kafkaSink: SinkConnector<KafkaSinkConfig> = {
  type: 'kafka',
  summary: 'writes each stream to a Kafka topic (CloudEvents binary or structured mode; changelogs compacted, with tombstones)',
  configSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['brokers'],
    properties: {
      name: { type: 'string', description: 'instance name (default: kafka)' },
      ...KAFKA_CONNECTION_SCHEMA,
      topic: { type: 'string', default: '{stream}', description: 'topic name per stream; {stream} is replaced, e.g. shop.{stream}' },
      streams: { type: 'array', items: { type: 'string' }, default: ['*'], description: 'streams to write; "*" for all' },
      mode: { enum: ['binary', 'structured'], default: 'binary', description: 'CloudEvents Kafka binding mode for events' },
      partitions: { type: 'integer', minimum: 1, default: 3, description: 'partitions of topics reflex creates' },
      replicationFactor: { type: 'integer', minimum: 1, default: 1, description: 'replication factor of topics reflex creates' },
      compression: { enum: ['none', 'gzip', 'snappy', 'lz4', 'zstd'], default: 'gzip', description: 'producer compression (snappy, lz4, zstd need a kafkajs codec)' },
      topicConfig: { type: 'object', additionalProperties: { type: 'string' }, description: 'extra configs for topics reflex creates' },
    },
  },
  instanceName: (config) => config.name ?? 'kafka',
  streams: (config) => config.streams ?? ['*'],
  create(config, ctx) {
    // kafkajs retries a send a few times; past that the dispatcher retries the whole batch with backoff.
    const client = new Kafka(kafkaClientConfig(config, ctx.logger, { retries: 8, logs: 'folded' }));
    const template = config.topic ?? '{stream}';
    const mode = config.mode ?? 'binary';
    const compression = COMPRESSION[config.compression ?? 'gzip'];
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
          topics: [{ topic, numPartitions: config.partitions ?? 3, replicationFactor: config.replicationFactor ?? 1, configEntries }],
          waitForLeaders: true,
        });
        ctx.logger.info('created topic', { topic, compacted: changelog });
      }
      ready.add(topic);
    }

    return {
      async deliver(records: StreamRecord[]) {
        if (records.length === 0) return;
        const { producer: p, admin: a } = await connect();
        const stream = records[0]!.stream;
        const topic = template.replace(/\{stream\}/g, stream);
        try {
          await ensureTopic(a, topic, stream.endsWith('.changelog'));
          await p.send({ topic, acks: -1, compression, messages: records.flatMap((r) => toMessages(r, mode)) });
        } catch (err) {
          ready.delete(topic); // look again next time: the topic may have been deleted meanwhile
          throw err;
        }
      },
      async close() {
        await producer?.disconnect().catch(() => undefined);
        await admin?.disconnect().catch(() => undefined);
      },
    };
  },
};
