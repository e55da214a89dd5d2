import { AssignerProtocol, Kafka, Partitioners, type Admin, type EachBatchPayload, type KafkaMessage, type Producer } from 'kafkajs';
import { randomUUID } from 'node:crypto';
import { BackpressureError, CODES, type ResourceLookup, type ClusterCommit, type ClusterContext, type ClusterEngine, type ClusterMember, type ClusterPositions, type ClusterRead, type ClusterReadFrom, type ClusterRecord, type ClusterStatus, type ClusterStreamInfo, type ClusterTailOpen, type ExchangeMessage, type OwnedPart, type PartitionInput, type PartitionState, type ResourceCounts, type ResourceState, mergePages, sumCounts } from '../../../src/sdk/index.js';
import { kafkaClientConfig, type KafkaConnection } from '../../kafka/connection.js';
import { COMPRESSION } from '../../sinks/kafka/producer.js';
import { useSynchronousGzip } from '../../sinks/kafka/gzip-codec.js';
import { OutputTopics } from './outputs.js';
import { LastingConsumer } from '../../kafka/lasting-consumer.js';
import { ApiConsumers } from './positions.js';
import { PartitionReader } from './restore.js';
import { StreamTail, TAIL_POLL_MS, clusterRecord, type PartitionRange } from './tail.js';
import { PartitionTask, type TaskContext } from './task.js';
import { ensureTopics } from './topics.js';

/** Bytes of exchanges per produce request (see sendWaiting). */
const SEND_BYTES = 512 * 1024;

/** Consecutive runs of messages whose values add up to at most `bytes` (a larger one alone). */
function chunks(messages: ExchangeMessage[], bytes: number): ExchangeMessage[][] {
  const out: ExchangeMessage[][] = [];
  let current: ExchangeMessage[] = [];
  let size = 0;
  for (const m of messages) {
    if (current.length > 0 && size + m.value.length > bytes) {
      out.push(current);
      current = [];
      size = 0;
    }
    current.push(m);
    size += m.value.length;
  }
  if (current.length > 0) out.push(current);
  return out;
}

/** Seconds a gateway is told to wait when the brokers did not take a batch. */
const RETRY_AFTER_S = 2;

/**
 * Cluster mode on Kafka, the way Kafka Streams does it: the exchanges topic partitioned by resource
 * key, a consumer group sharing its partitions, one transactional producer per partition
 * (consume-transform-produce, exactly once), and a compacted state topic co-partitioned with it.
 */
export class KafkaClusterEngine implements ClusterEngine {
  private readonly kafka: Kafka;
  private admin!: Admin;
  private producer!: Producer;
  private group!: LastingConsumer;
  private reader!: PartitionReader;
  /** The HTTP consumer API's named consumers: consumer groups with committed offsets only. */
  private apiConsumers!: ApiConsumers;
  private readonly tasks = new Map<number, PartitionTask>();
  private readonly stateTopic: string;
  private readonly outputs: OutputTopics;
  private stopped = false;
  /** Tails whose reading has not ended. */
  private readonly openTails = new Set<StreamTail>();
  /** The last listing of each tailed topic's offsets: the tails of one topic share one per poll. */
  private readonly listings = new Map<string, { at: number; ranges: Promise<PartitionRange[]> }>();

  constructor(private readonly connection: KafkaConnection, private readonly ctx: ClusterContext) {
    const { settings } = ctx;
    // A short retry: a gateway waiting on a dead broker is better told 503 and sent elsewhere.
    this.kafka = new Kafka({ ...kafkaClientConfig(connection, ctx.logger, { retries: 3, logs: 'folded' }), clientId: `${connection.clientId}@${ctx.instance}` });
    this.stateTopic = `${settings.exchangesTopic}-state`;
    this.outputs = new OutputTopics(ctx.outputs);
  }

  async start(): Promise<void> {
    const { settings, specs, logger } = this.ctx;
    this.admin = this.kafka.admin();
    await this.admin.connect();
    this.apiConsumers = new ApiConsumers(this.kafka, this.admin, settings.group, logger);
    const outputPlans = this.outputs.plans(specs.streams, settings.partitions);
    await ensureTopics(this.admin, [
      { topic: settings.exchangesTopic, partitions: settings.partitions, compacted: false, exact: true },
      { topic: this.stateTopic, partitions: settings.partitions, compacted: true, exact: true },
      ...outputPlans,
    ], settings.replicationFactor, logger);
    const first = this.ctx.outputs[0]?.settings;
    const compression = (first?.compression as keyof typeof COMPRESSION | undefined) ?? 'gzip';
    if (compression === 'gzip') useSynchronousGzip(first?.compressionLevel as number | undefined);

    this.producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 5, allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
    await this.producer.connect();
    this.reader = new PartitionReader(this.kafka, [this.stateTopic, ...new Set(outputPlans.map((p) => p.topic))], `${settings.group}.reads.${randomUUID()}`, logger);
    await this.reader.start();

    const taskContext: TaskContext = {
      kafka: this.kafka, admin: this.admin, reader: this.reader, outputs: this.outputs, outputPlans,
      exchangesTopic: settings.exchangesTopic, stateTopic: this.stateTopic, group: settings.group,
      compression: COMPRESSION[compression],
      partitionOptions: { specs, rules: this.ctx.rules, dedupeWindowMs: this.ctx.dedupeWindowMs, reorderWindowMs: this.ctx.reorderWindowMs, logger },
      keepLocally: this.ctx.keepLocally,
      seek: (partition, offset) => {
        try {
          this.group.current?.seek({ topic: settings.exchangesTopic, partition, offset: String(offset) });
        } catch (err) {
          // Not running (stopping, or restarting after a crash): it fetches from the committed offset, and the task skips what it did.
          logger.debug('could not seek', { partition, error: (err as Error).message });
        }
      },
      logger,
    };
    let joined!: () => void;
    const firstJoin = new Promise<void>((resolve) => (joined = resolve));
    this.group = new LastingConsumer({
      kafka: this.kafka, logger, name: 'cluster consumer',
      config: { groupId: settings.group, readUncommitted: false, sessionTimeout: settings.sessionTimeoutMs, heartbeatInterval: Math.max(500, Math.floor(settings.sessionTimeoutMs / 10)), allowAutoTopicCreation: false },
      subscribe: { topics: [settings.exchangesTopic], fromBeginning: true },
      // kafkajs rebalances eagerly and says nothing of revocation: each join carries the whole assignment.
      onJoin: (_consumer, assignment) => {
        joined();
        void this.assign(new Set(assignment[settings.exchangesTopic] ?? []), taskContext);
      },
      run: () => ({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: Math.max(1, settings.partitions),
        eachBatch: (payload) => this.eachBatch(payload),
      }),
    });
    await this.group.start();
    // Ready (for /readyz) once in the group; a join that takes longer than a session is logged, not fatal.
    const timeout = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), settings.sessionTimeoutMs).unref());
    if (!(await Promise.race([firstJoin.then(() => true), timeout]))) logger.warn('not in the consumer group yet; going on', { group: settings.group });
  }

  private async eachBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const task = this.tasks.get(batch.partition);
    if (!task || batch.messages.length === 0) {
      // Not this instance's (yet: its join is being handled): fetched again, not at full speed.
      if (!task) await new Promise((r) => setTimeout(r, 50));
      return;
    }
    task.highWatermark = Number(batch.highWatermark);
    // Restoring (or reopening after a failed step): keep the membership alive while waiting,
    // as a large state takes longer to read than a session lasts.
    const beat = setInterval(() => void heartbeat().catch(() => undefined), 1_000);
    try {
      if (!(await task.ready()) || !isRunning() || isStale()) return;
      const inputs = this.readExchanges(batch.topic, batch.partition, batch.messages);
      if (await task.process(inputs, Number(batch.lastOffset()))) resolveOffset(batch.lastOffset());
    } finally {
      clearInterval(beat);
    }
    await heartbeat().catch(() => undefined);
  }

  /**
   * The exchanges of a fetched batch. A message that is not one (something else produced to the
   * topic) becomes a dead letter here, naming its topic, partition and offset, and is skipped.
   */
  private readExchanges(topic: string, partition: number, messages: KafkaMessage[]): PartitionInput[] {
    const inputs: PartitionInput[] = [];
    for (const m of messages) {
      const headers = m.headers ?? {};
      const where = `${topic}/${partition}@${m.offset}`;
      let exchange: unknown;
      try {
        exchange = JSON.parse(m.value?.toString() ?? 'null');
      } catch (err) {
        exchange = err as Error;
      }
      const requestKey = headers['reflex-request-key']?.toString();
      if (exchange instanceof Error || typeof exchange !== 'object' || exchange === null || !requestKey) {
        const reason = exchange instanceof Error ? `its value is not JSON (${exchange.message})` : !requestKey ? 'it has no reflex-request-key header' : 'its value is not a JSON object';
        this.ctx.keepLocally([{
          requestKey: `kafka:${where}`, records: [],
          deadLetter: { source: 'cluster', requestKey: `kafka:${where}`, diagnostic: { code: CODES.processingFailed, severity: 'error', message: `message ${where} of the exchanges topic is not an Exchange reflex produced: ${reason}` }, record: m.value?.toString() ?? null },
        }]);
        continue;
      }
      inputs.push({ offset: Number(m.offset), requestKey, source: headers['reflex-source']?.toString() ?? 'cluster', retry: headers['reflex-retry'] !== undefined, exchange: exchange as PartitionInput['exchange'] });
    }
    return inputs;
  }

  /**
   * Batches that arrive while a send is on the wire go together in the next one (group commit): the
   * idempotent producer sends one request per partition at a time, so eight concurrent sends each
   * waited for the seven before them (POST p50 385 ms at 1.8k exchanges/s).
   */
  publish(messages: ExchangeMessage[]): Promise<void> {
    if (this.stopped) return Promise.reject(new BackpressureError('reflex is stopping; nothing of this batch was stored, send it again', 1));
    return new Promise((resolve, reject) => {
      this.waiting.push({ messages, resolve, reject });
      if (!this.sending) void this.sendWaiting();
    });
  }

  private waiting: Array<{ messages: ExchangeMessage[]; resolve: () => void; reject: (err: Error) => void }> = [];
  private sending = false;

  private async sendWaiting(): Promise<void> {
    this.sending = true;
    while (this.waiting.length > 0) {
      const group = this.waiting.splice(0);
      try {
        // In sends of at most SEND_BYTES: a partition's record batch over the brokers' message.max.bytes
        // (1 MiB by default) is refused whole, and with one partition every exchange is in the same one.
        for (const messages of chunks(group.flatMap((g) => g.messages), SEND_BYTES)) {
          await this.producer.send({
            topic: this.ctx.settings.exchangesTopic,
            acks: -1,
            messages: messages.map((m) => ({
              key: m.key,
              value: m.value,
              headers: { 'reflex-request-key': m.requestKey, 'reflex-source': m.source, ...(m.retry ? { 'reflex-retry': '1' } : {}) },
            })),
          });
        }
        for (const g of group) g.resolve();
      } catch (err) {
        const refused = new BackpressureError(`the cluster's Kafka did not take this batch (${(err as Error).message}); nothing of it was acknowledged, send it again`, RETRY_AFTER_S);
        for (const g of group) g.reject(refused);
      }
    }
    this.sending = false;
  }

  async status(): Promise<ClusterStatus> {
    const { settings, instance } = this.ctx;
    let members: ClusterMember[] = [];
    try {
      const { groups } = await this.admin.describeGroups([settings.group]);
      members = (groups[0]?.members ?? []).map((m) => {
        const assignment = m.memberAssignment.length > 0 ? AssignerProtocol.MemberAssignment.decode(m.memberAssignment) : null;
        const at = m.clientId.indexOf('@');
        return { memberId: m.memberId, clientId: m.clientId, host: m.clientHost, url: at >= 0 ? m.clientId.slice(at + 1) : null, partitions: [...(assignment?.assignment[settings.exchangesTopic] ?? [])].sort((a, b) => a - b) };
      });
    } catch (err) {
      this.ctx.logger.warn('could not describe the consumer group', { error: (err as Error).message });
    }
    return {
      instance, group: settings.group, exchangesTopic: settings.exchangesTopic, partitions: settings.partitions, members,
      owned: [...this.tasks.values()].map((t) => t.describe()).sort((a, b) => a.partition - b.partition),
      tails: this.openTails.size,
    };
  }

  async resource(resource: string, key: string): Promise<ResourceLookup> {
    const partition = partitionOf(key, this.ctx.settings.partitions);
    const task = this.tasks.get(partition);
    if (task?.status === 'running' && !task.lost) return { kind: 'state', partition, state: task.get(resource, key) };
    const owner = (await this.status()).members.find((m) => m.partitions.includes(partition));
    if (owner?.url && owner.url !== this.ctx.instance) return { kind: 'owner', partition, url: owner.url };
    return { kind: 'unavailable', partition };
  }

  async streams(): Promise<ClusterStreamInfo[]> {
    const streams: ClusterStreamInfo[] = [];
    for (const s of this.ctx.specs.streams) {
      const topic = this.outputs.topicOf(s.name);
      if (!topic) continue;
      const ranges = await this.offsetsOf(topic, true);
      const partitions = ranges.map((r) => ({ partition: r.partition, firstOffset: r.low, nextOffset: r.high })).sort((a, b) => a.partition - b.partition);
      streams.push({ name: s.name, topic, partitions });
    }
    return streams;
  }

  async read(stream: string, given: number | null, after: ClusterReadFrom, limit: number): Promise<ClusterRead> {
    const found = await this.partitionOf(stream, given);
    if (found.kind !== 'range') return found;
    const { topic, range } = found;
    const last = after !== null && typeof after === 'object' ? await this.apiConsumers.position(topic, after.consumer, range.partition) : after;
    const from = Math.max(range.low, last === null ? 0 : last + 1);
    const records: ClusterRecord[] = [];
    await this.reader.read(topic, range.partition, from, range.high, (m) => {
      records.push(clusterRecord(range.partition, m));
      return records.length < limit;
    });
    return { kind: 'records', topic, records };
  }

  async positions(stream: string): Promise<ClusterPositions> {
    const topic = this.topicOf(stream);
    if (!topic) return { kind: 'no-topic' };
    return { kind: 'positions', topic, consumers: await this.apiConsumers.list(topic, await this.offsetsOf(topic, true)) };
  }

  async commit(stream: string, consumer: string, given: number | null, offset: number): Promise<ClusterCommit> {
    const found = await this.partitionOf(stream, given);
    if (found.kind !== 'range') return found;
    const { topic, range } = found;
    if (offset + 1 > range.high) return { kind: 'past-end', topic, partition: range.partition, last: range.high - 1 };
    return this.apiConsumers.commit(topic, consumer, range, offset);
  }

  /** The stream's topic, or null when no kafka sink writes the stream. */
  private topicOf(stream: string): string | null {
    return this.ctx.specs.streams.some((s) => s.name === stream) ? this.outputs.topicOf(stream) : null;
  }

  /** The partition of a stream's topic named (null: the only one) with its first offset and stable end. */
  private async partitionOf(stream: string, given: number | null): Promise<{ kind: 'range'; topic: string; range: PartitionRange } | { kind: 'no-topic' } | { kind: 'no-partition'; topic: string; partitions: number }> {
    const topic = this.topicOf(stream);
    if (!topic) return { kind: 'no-topic' };
    const ranges = await this.offsetsOf(topic, true);
    const partition = given ?? (ranges.length === 1 ? ranges[0]!.partition : -1);
    const range = ranges.find((r) => r.partition === partition);
    if (!range) return { kind: 'no-partition', topic, partitions: ranges.length };
    return { kind: 'range', topic, range };
  }

  ownedResources(resource: string, after: string, limit: number): OwnedPart<{ key: string } & ResourceState> {
    return mergePages(this.running().map(([p, state]) => ({ partitions: [p], resources: state.list(resource, after, limit) })), limit);
  }

  ownedSummary(names: readonly string[]): OwnedPart<ResourceCounts> {
    return sumCounts(this.running().map(([p, state]) => ({ partitions: [p], resources: state.summary(names) })), names);
  }

  /** The partitions this instance runs now, with their state. */
  private running(): Array<[number, PartitionState]> {
    return [...this.tasks.values()].flatMap((t) => (t.running ? [[t.partition, t.running] as [number, PartitionState]] : []));
  }

  async tail(stream: string, after: ReadonlyMap<number, number>): Promise<ClusterTailOpen> {
    const topic = this.topicOf(stream);
    if (!topic) return { kind: 'no-topic' };
    const ranges = await this.offsetsOf(topic, true);
    const missing = [...after.keys()].some((p) => !ranges.some((r) => r.partition === p));
    if (missing) return { kind: 'no-partition', topic, partitions: ranges.length };
    const tail: StreamTail = new StreamTail(topic, ranges, after, {
      reader: this.reader,
      offsets: () => this.offsetsOf(topic, false),
      logger: this.ctx.logger,
      ended: () => this.openTails.delete(tail),
    });
    this.openTails.add(tail);
    if (this.stopped) tail.close();
    return { kind: 'tail', tail };
  }

  /**
   * A topic's partitions with their first offset and stable end (kafkajs' admin lists them
   * read_committed); for tails, a listing of the last poll interval is shared.
   */
  private offsetsOf(topic: string, fresh: boolean): Promise<PartitionRange[]> {
    const last = this.listings.get(topic);
    if (!fresh && last && Date.now() - last.at < TAIL_POLL_MS - 50) return last.ranges;
    const ranges = this.admin.fetchTopicOffsets(topic).then((offsets) => offsets.map((o) => ({ partition: o.partition, low: Number(o.low), high: Number(o.high) })));
    this.listings.set(topic, { at: Date.now(), ranges });
    // A failed listing is not shared: the next poll asks again.
    void ranges.catch(() => this.listings.get(topic)?.ranges === ranges && this.listings.delete(topic));
    return ranges;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of [...this.openTails]) t.close();
    await this.group?.stop().catch(() => undefined);
    await Promise.all([...this.tasks.values()].map((t) => t.close()));
    this.tasks.clear();
    await this.reader?.stop();
    await this.apiConsumers?.stop();
    await this.producer?.disconnect().catch(() => undefined);
    await this.admin?.disconnect().catch(() => undefined);
  }

  /** Drops the partitions this instance no longer owns and opens the new ones. */
  private async assign(partitions: Set<number>, context: TaskContext): Promise<void> {
    const gone: PartitionTask[] = [];
    for (const [p, task] of this.tasks) {
      if (partitions.has(p) && !task.lost) continue;
      this.tasks.delete(p);
      gone.push(task);
    }
    const open = (only: (p: number) => boolean) => {
      for (const p of partitions) if (!this.tasks.has(p) && !this.stopped && only(p)) this.tasks.set(p, new PartitionTask(p, context));
    };
    // New partitions open at once; one whose lost task is closing opens once that task let go of its producer.
    const closing = new Set(gone.map((t) => t.partition));
    open((p) => !closing.has(p));
    await Promise.all(gone.map((t) => t.close()));
    open(() => true);
    this.ctx.logger.info('partitions assigned', { partitions: [...partitions].sort((a, b) => a - b) });
  }
}

const keyPartitioner = Partitioners.DefaultPartitioner();

/** The partition the exchanges of `key` are produced to: Java's murmur2 partitioner, as the producer uses. */
export function partitionOf(key: string, partitions: number): number {
  const partitionMetadata = Array.from({ length: partitions }, (_, partitionId) => ({ partitionId, leader: 0, replicas: [0], isr: [0], partitionErrorCode: 0 }));
  return keyPartitioner({ topic: '', partitionMetadata, message: { key, value: null } });
}
