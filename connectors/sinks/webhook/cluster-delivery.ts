import { Kafka, type Admin, type KafkaMessage, type Producer } from 'kafkajs';
import { recordValue } from '../../kafka/records.js';
import { sinkGroup } from '../../kafka/topic-runner.js';
import type { LastingConsumer } from '../../kafka/lasting-consumer.js';
import { compileEventCel, type CloudEvent, type ClusterSinkContext, type ClusterSinkRunner, type CompiledCel } from '../../../src/sdk/index.js';
import { kafkaClientConfig, type KafkaConnection } from '../../kafka/connection.js';
import { webhookEvent } from './event-body.js';
import { EndpointClient } from './http-client.js';
import { attemptColumns } from './outcome.js';
import { nextAttempt } from './retry-policy.js';
import { signedHeaders } from './signing.js';
import { takesType } from './event-types.js';

export interface ClusterEndpoint {
  url: string;
  secret: string;
  types: string[] | null;
  filter: string | null;
}

/** How often offsets of a partition being delivered are committed while its batch goes on. */
const COMMIT_EVERY_MS = 1_000;

/**
 * A webhook sink in cluster mode: a consumer group of its own over the topics the partition owners
 * write (read_committed). Each partition is delivered in offset order, one event at a time, and its
 * offset committed after the event was delivered or given up: at least once, and in order per key
 * (a key's events are in one partition). The price of that order: an endpoint that keeps failing
 * holds back the partitions it fails on for the retry schedule. After the last attempt the event
 * goes to the dead-letter topic `<group>.dead-letters` with its last error, and the partition moves on.
 */
export class ClusterWebhookDelivery implements ClusterSinkRunner {
  private readonly kafka: Kafka;
  private readonly client: EndpointClient;
  private readonly filter: CompiledCel | null;
  private readonly url: URL;
  private readonly deadTopic: string;
  private consumer: LastingConsumer | null = null;
  private producer: Producer | null = null;
  private admin: Admin | null = null;
  private stopping = false;

  constructor(private readonly endpoint: ClusterEndpoint, private readonly ctx: ClusterSinkContext) {
    this.kafka = new Kafka(kafkaClientConfig(ctx.kafka as KafkaConnection, ctx.logger, { retries: 8, logs: 'folded' }));
    const settings = ctx.config.webhooks;
    this.client = new EndpointClient({ allowPrivateAddresses: settings.allowPrivateAddresses, timeoutMs: settings.timeoutMs, maxResponseBytes: settings.maxResponseBytes, connections: settings.concurrency });
    this.filter = endpoint.filter ? compileEventCel(endpoint.filter) : null;
    this.url = new URL(endpoint.url);
    this.deadTopic = `${ctx.group}.dead-letters`;
  }

  async start(): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    this.admin = admin;
    if (!(await admin.listTopics()).includes(this.deadTopic)) {
      await admin.createTopics({ topics: [{ topic: this.deadTopic, numPartitions: 1 }], waitForLeaders: true }).catch(() => undefined);
    }
    this.producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    await this.producer.connect();
    this.consumer = sinkGroup(this.kafka, this.ctx, 'webhook', (consumer) => ({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.ctx.config.webhooks.concurrency,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
        const stream = this.ctx.topics.get(batch.topic)!;
        const live = () => isRunning() && !isStale() && !this.stopping;
        let committedAt = Date.now();
        let done: string | null = null;
        const commit = async () => {
          if (done === null) return;
          await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: String(Number(done) + 1) }]);
          committedAt = Date.now();
        };
        for (const message of batch.messages) {
          if (!live()) break;
          const event = this.eventOf(message, stream, batch.partition);
          if (event && this.wanted(event) && !(await this.deliver(event, stream, heartbeat, live))) break;
          resolveOffset(message.offset);
          done = message.offset;
          if (Date.now() - committedAt > COMMIT_EVERY_MS) await commit();
        }
        await commit();
      },
    }));
    await this.consumer.start();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.consumer?.stop().catch(() => undefined);
    await this.producer?.disconnect().catch(() => undefined);
    await this.admin?.disconnect().catch(() => undefined);
    await this.client.close().catch(() => undefined);
  }

  /** The webhook body of a message: an event (binary or structured mode), or a change record wrapped as one. */
  private eventOf(message: KafkaMessage, stream: string, partition: number): CloudEvent | null {
    const value = recordValue(message);
    if (value === null) return null; // a changelog's tombstone
    if ('specversion' in value) return value;
    const event = webhookEvent({ stream, offset: Number(message.offset), key: message.key?.toString() ?? null, value });
    // Offsets are per partition in Kafka: the partition makes the id unique.
    return { ...event, id: `${stream}-${partition}-${message.offset}` };
  }

  private wanted(event: CloudEvent): boolean {
    if (!takesType(this.endpoint.types, event.type)) return false;
    if (!this.filter) return true;
    try {
      return this.filter.evaluate({ event }) === true;
    } catch {
      return false;
    }
  }

  /** Attempts on the retry schedule; false when the partition was taken away meanwhile (not resolved: delivered again by its next owner). */
  private async deliver(event: CloudEvent, stream: string, heartbeat: () => Promise<void>, live: () => boolean): Promise<boolean> {
    const body = JSON.stringify(event);
    const settings = this.ctx.config.webhooks;
    for (let attempts = 1; ; attempts++) {
      const result = await this.client.post(this.url, signedHeaders({ eventId: event.id, timestampSeconds: Math.floor(Date.now() / 1000), secrets: [this.endpoint.secret] }, body), body);
      const step = nextAttempt({ ...result, time: Date.now() }, attempts, settings, Math.random);
      if (step.result === 'delivered') return true;
      if (step.result !== 'retry') {
        await this.deadLetter(event, stream, body, attempts, attemptColumns(result).error ?? 'failed');
        return true;
      }
      while (Date.now() < step.at) {
        if (!live()) return false;
        await heartbeat().catch(() => undefined);
        await new Promise((r) => setTimeout(r, Math.min(1_000, Math.max(0, step.at - Date.now()))));
      }
      if (!live()) return false;
    }
  }

  private async deadLetter(event: CloudEvent, stream: string, body: string, attempts: number, error: string): Promise<void> {
    this.ctx.logger.error('webhook event given up after its last attempt; it is on the dead-letter topic', { event: event.id, stream, attempts, error, topic: this.deadTopic });
    await this.producer!.send({
      topic: this.deadTopic,
      acks: -1,
      messages: [{ key: event.subject ?? null, value: body, headers: { 'reflex-webhook-url': this.endpoint.url, 'reflex-stream': stream, 'reflex-attempts': String(attempts), 'reflex-error': error } }],
    });
  }
}
