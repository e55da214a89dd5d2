import { CompressionTypes, Kafka, Partitioners, type Admin, type Message, type Producer } from 'kafkajs';
import type { Logger } from '../../../src/sdk/index.js';
import { kafkaClientConfig, type KafkaConnection } from '../../kafka/connection.js';
import { useSynchronousGzip } from './gzip-codec.js';
import type { StoredRecord } from '../../../src/sdk/index.js';
import { storedToMessages } from './messages.js';
import { topicFor } from './topic.js';

/** The codecs reflex has (connectors/kafka/codecs.ts); lz4 and zstd need native ones. */
export const COMPRESSION = { none: CompressionTypes.None, gzip: CompressionTypes.GZIP, snappy: CompressionTypes.Snappy };

/** What the producer needs of the sink's block (plain data: it crosses to the producer thread). */
export interface ProducerSettings extends KafkaConnection {
  topic: string;
  mode: 'binary' | 'structured';
  partitions: number;
  replicationFactor: number;
  compression: keyof typeof COMPRESSION;
  compressionLevel?: number;
  topicConfig?: Record<string, string>;
}

/**
 * The Kafka side of the sink: topics created when missing (`*.changelog` compacted), records turned
 * into messages, every stream's batch in one produce request (kafkajs sends one per broker). The
 * producer is idempotent with acks=all, so a retry after a lost answer does not duplicate a batch.
 */
export class TopicProducer {
  private readonly client: Kafka;
  private readonly compression: CompressionTypes;
  private producer: Producer | null = null;
  private admin: Admin | null = null;
  private readonly ready = new Set<string>();

  constructor(private readonly settings: ProducerSettings, private readonly logger: Logger) {
    // kafkajs retries a send a few times; past that the dispatcher retries the whole batch with backoff.
    this.client = new Kafka(kafkaClientConfig(settings, logger, { retries: 8, logs: 'folded' }));
    this.compression = COMPRESSION[settings.compression];
    if (settings.compression === 'gzip') useSynchronousGzip(settings.compressionLevel);
  }

  /** Resolves once the brokers acknowledged every message of every batch. */
  async send(batches: StoredRecord[][]): Promise<void> {
    const topicMessages: Array<{ stream: string; topic: string; messages: Message[] }> = [];
    for (const records of batches) {
      if (records.length === 0) continue;
      const stream = records[0]!.stream;
      const messages: Message[] = [];
      for (const r of records) messages.push(...storedToMessages(r, this.settings.mode));
      topicMessages.push({ stream, topic: topicFor(this.settings.topic, stream), messages });
    }
    if (topicMessages.length === 0) return;
    const { producer, admin } = await this.connect();
    try {
      for (const t of topicMessages) await this.ensureTopic(admin, t.topic, t.stream.endsWith('.changelog'));
      await producer.sendBatch({ acks: -1, compression: this.compression, topicMessages: topicMessages.map(({ topic, messages }) => ({ topic, messages })) });
    } catch (err) {
      // Look again next time: a topic may have been deleted meanwhile.
      for (const t of topicMessages) this.ready.delete(t.topic);
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.producer?.disconnect().catch(() => undefined);
    await this.admin?.disconnect().catch(() => undefined);
  }

  private async connect(): Promise<{ producer: Producer; admin: Admin }> {
    if (!this.producer) {
      // The default (murmur2) partitioner is Java's: a key lands where a Java producer would put it.
      const p = this.client.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
      await p.connect();
      this.producer = p;
    }
    if (!this.admin) {
      const a = this.client.admin();
      await a.connect();
      this.admin = a;
    }
    return { producer: this.producer, admin: this.admin };
  }

  private async ensureTopic(admin: Admin, topic: string, changelog: boolean): Promise<void> {
    if (this.ready.has(topic)) return;
    const existing = await admin.listTopics();
    if (!existing.includes(topic)) {
      const configEntries = Object.entries({ ...(changelog ? { 'cleanup.policy': 'compact' } : {}), ...this.settings.topicConfig }).map(([name, value]) => ({ name, value }));
      await admin.createTopics({
        topics: [{ topic, numPartitions: this.settings.partitions, replicationFactor: this.settings.replicationFactor, configEntries }],
        waitForLeaders: true,
      });
      this.logger.info('created topic', { topic, compacted: changelog });
    }
    this.ready.add(topic);
  }
}
