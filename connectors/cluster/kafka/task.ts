import type { Admin, Kafka, Message, Producer, TopicMessages, CompressionTypes } from 'kafkajs';
import { PartitionState, type ResourceState, type Logger, type OwnedPartition, type PartitionInput, type PartitionOptions, type PartitionOutput, type EntryOutcome } from '../../../src/sdk/index.js';
import type { PartitionReader } from './restore.js';
import type { OutputTopics } from './outputs.js';
import type { TopicPlan } from './topics.js';

export interface TaskContext {
  kafka: Kafka;
  admin: Admin;
  /** Reads the state topic back (restores). */
  reader: PartitionReader;
  outputs: OutputTopics;
  /** The output topics: changelogs are co-partitioned (`exact`), event topics take any partition. */
  outputPlans: readonly TopicPlan[];
  exchangesTopic: string;
  stateTopic: string;
  group: string;
  compression: CompressionTypes;
  partitionOptions: PartitionOptions;
  keepLocally(entries: EntryOutcome[]): void;
  /** Makes the group consumer fetch partition `partition` again from `offset`. */
  seek(partition: number, offset: number): void;
  logger: Logger;
}

/** Key and header of the aborted records that settle a partition's earlier transactions (see settle()). */
const FENCE_KEY = 'reflex-fence';

/** kafkajs names for "another producer with this transactional id took over". */
const FENCED = /INVALID_PRODUCER_EPOCH|PRODUCER_FENCED|fenced/i;

/**
 * One owned partition of the exchanges topic. Opening it fences any earlier owner (a transactional
 * producer with the partition's own transactional id: a new one aborts the old one's open
 * transaction and makes its later commits fail), restores the state from the state topic, and
 * learns the committed offset; only then does it process. Each step (a batch of exchanges, or the
 * changes whose reorder window passed) is one transaction: outputs, state writes and, for a batch,
 * the group's offset. Steps run one at a time. If one fails, the in-memory state is ahead of Kafka:
 * it is thrown away and the partition opened again from Kafka.
 */
export class PartitionTask {
  status: OwnedPartition['status'] = 'restoring';
  restoredRecords = 0;
  restoreMs: number | null = null;
  nextOffset: number | null = null;
  highWatermark: number | null = null;
  /** Fenced: another instance owns the partition now; this task waits to be dropped. */
  lost = false;
  private state: PartitionState | null = null;
  private producer: Producer | null = null;
  private tail: Promise<unknown> = Promise.resolve();
  private opened: Promise<void>;
  private closed = false;
  private timer: NodeJS.Timeout | null = null;
  private lastPrune = Date.now();

  constructor(readonly partition: number, private readonly ctx: TaskContext) {
    this.opened = this.openUntilOpen();
  }

  /** Resolves when the partition can process (false: closed or lost meanwhile). */
  async ready(): Promise<boolean> {
    await this.opened.catch(() => undefined);
    return !this.closed && !this.lost && this.state !== null;
  }

  describe(): OwnedPartition {
    const lag = this.nextOffset !== null && this.highWatermark !== null ? Math.max(0, this.highWatermark - this.nextOffset) : null;
    return {
      partition: this.partition, status: this.status, restoredRecords: this.restoredRecords, restoreMs: this.restoreMs,
      nextOffset: this.nextOffset, highWatermark: this.highWatermark, lag, pending: this.state?.pendingCount ?? 0, keys: this.state?.keys ?? 0,
    };
  }

  get(resource: string, key: string): ResourceState | null {
    return this.state?.get(resource, key) ?? null;
  }

  /** The partition's state while it runs (null while it restores, or once it is lost). */
  get running(): PartitionState | null {
    return this.status === 'running' && !this.lost ? this.state : null;
  }

  /**
   * Processes a batch of exchanges (offsets below nextOffset were processed already and are skipped);
   * true once the batch is done with, false when it must be fetched again (the step failed, or the
   * partition is no longer this instance's).
   */
  process(inputs: PartitionInput[], lastOffset: number): Promise<boolean> {
    return this.step(async (state) => {
      const fresh = inputs.filter((i) => i.offset >= this.nextOffset!);
      if (fresh.length === 0) return true;
      const output = await state.process(fresh, Date.now());
      await this.commit(output, lastOffset + 1);
      this.nextOffset = lastOffset + 1;
      return true;
    }, false);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.ctx.reader.cancel(this.ctx.stateTopic, this.partition);
    await this.tail.catch(() => undefined);
    await this.opened.catch(() => undefined);
    await this.producer?.disconnect().catch(() => undefined);
    this.producer = null;
    this.state = null;
  }

  /** Opens the partition, again every second while the brokers refuse (closing the task stops it). */
  private async openUntilOpen(): Promise<void> {
    for (;;) {
      try {
        await this.open();
        return;
      } catch (err) {
        if (this.closed) return;
        this.ctx.logger.error('partition could not be opened; trying again', { partition: this.partition, error: (err as Error).message });
        this.ctx.reader.cancel(this.ctx.stateTopic, this.partition);
        await new Promise((r) => setTimeout(r, 1_000));
        if (this.closed) return;
      }
    }
  }

  private async open(): Promise<void> {
    const { kafka, admin, reader, stateTopic, exchangesTopic, group, partitionOptions } = this.ctx;
    const started = Date.now();
    this.status = 'restoring';
    this.state = null;
    await this.producer?.disconnect().catch(() => undefined);
    const producer = kafka.producer({
      transactionalId: `${group}-${exchangesTopic}-${this.partition}`,
      idempotent: true,
      maxInFlightRequests: 1,
      transactionTimeout: 60_000,
      allowAutoTopicCreation: false,
      // The broker answers the next transaction CONCURRENT_TRANSACTIONS while it still writes the
      // last one's markers (a few ms); kafkajs' default first retry after 300 ms made every step
      // wait about that long (measured: a transaction with offsets 284 ms median, 26 ms with this).
      retry: { initialRetryTime: 20, maxRetryTime: 2_000, retries: 12 },
    });
    await producer.connect();
    this.producer = producer;
    await this.settle(producer);
    if (this.closed) return;
    const [ends, committed, exchanges] = await Promise.all([
      admin.fetchTopicOffsets(stateTopic),
      admin.fetchOffsets({ groupId: group, topics: [exchangesTopic] }),
      admin.fetchTopicOffsets(exchangesTopic),
    ]);
    const end = Number(ends.find((o) => o.partition === this.partition)?.high ?? 0);
    this.highWatermark = Number(exchanges.find((o) => o.partition === this.partition)?.high ?? 0);
    const state = new PartitionState(partitionOptions);
    this.restoredRecords = await reader.read(stateTopic, this.partition, 0, end, (m) => {
      state.restore(m.key?.toString() ?? '', m.value ? m.value.toString() : null);
      return true;
    });
    state.finishRestore();
    if (this.closed) return;
    // Where to go on is in the state itself (written in each step's transaction and read back
    // read_committed): the group's committed offset can lag right after a transaction completes
    // (kafkajs cannot ask for stable offsets), which made a new owner process a step again. Both
    // only ever move by committed transactions, so the larger of the two is never ahead of the work.
    const groupOffset = Number(committed[0]?.partitions.find((p) => p.partition === this.partition)?.offset ?? -1);
    const offset = Math.max(state.restoredOffset ?? -1, groupOffset);
    if (state.restoredOffset !== null && groupOffset > state.restoredOffset) {
      this.ctx.logger.warn('the group committed past the restored state; going on from the group offset', { partition: this.partition, restored: state.restoredOffset, group: groupOffset });
    }
    this.nextOffset = offset >= 0 ? offset : 0;
    this.ctx.seek(this.partition, this.nextOffset);
    this.state = state;
    this.status = 'running';
    this.restoreMs = Date.now() - started;
    this.ctx.logger.info('partition restored', { partition: this.partition, records: this.restoredRecords, keys: state.keys, pending: state.pendingCount, nextOffset: this.nextOffset, ms: this.restoreMs });
    const tick = Math.max(50, Math.min(250, Math.floor(partitionOptions.reorderWindowMs / 4)));
    this.timer ??= setInterval(() => void this.tick(), tick);
    this.timer.unref();
  }

  /**
   * Fences the previous owner and settles every transaction an earlier producer of this partition
   * left open, before anything is read.
   *
   * kafkajs initializes the transactional id (which aborts the previous owner's open transaction and
   * refuses its later commits) only at the first transaction(), not at connect: restoring first let
   * the previous owner commit a step after the restore, which this owner then processed again.
   *
   * A transaction can also be left without its markers: seen on a broker restarted while steps were
   * committing, where the coordinator logged the transaction complete but no partition got its marker.
   * Its records then hang undecided (the partitions' stable offset stops before them, so the restore
   * cannot see its state writes) until the next marker of this producer id decides them, and a commit
   * marker of the next step would publish them beside the same events processed again. Aborting them
   * here, in every partition a step can write, keeps outputs and restored state alike: what was undecided
   * is reprocessed once. It costs one aborted record per partition each time the partition is opened;
   * readers that read committed (every sink reflex runs, and any consumer of exactly-once output) never
   * see them.
   */
  private async settle(producer: Producer): Promise<void> {
    const { admin, stateTopic, outputPlans } = this.ctx;
    const fence = (partition: number): Message => ({ key: FENCE_KEY, value: null, partition, headers: { [FENCE_KEY]: String(this.partition) } });
    const own = [stateTopic, ...outputPlans.filter((p) => p.exact).map((p) => p.topic)];
    const shared = outputPlans.filter((p) => !p.exact).map((p) => p.topic);
    const topicMessages: TopicMessages[] = own.map((topic) => ({ topic, messages: [fence(this.partition)] }));
    if (shared.length > 0) {
      const { topics } = await admin.fetchTopicMetadata({ topics: shared });
      for (const t of topics) topicMessages.push({ topic: t.name, messages: t.partitions.map((p) => fence(p.partitionId)) });
    }
    const tx = await producer.transaction();
    try {
      await tx.sendBatch({ topicMessages, acks: -1 });
    } finally {
      await tx.abort();
    }
  }

  /** The changes whose reorder window passed, and dedupe keys past their window, without new input. */
  private tick(): void {
    if (!this.state || this.closed || this.lost) return;
    void this.step(async (state) => {
      const now = Date.now();
      const output = state.due(now);
      const pruned = now - this.lastPrune > 60_000 ? (this.lastPrune = now, state.prune(now)) : [];
      if (!output && pruned.length === 0) return false;
      const out = output ?? { events: [], changes: [], state: [], local: [], duplicates: 0, late: 0, skipped: [] };
      out.state.push(...pruned);
      await this.commit(out, null);
      return true;
    }, false);
  }

  /** Runs `fn` after every earlier step, on a ready state; a failure reopens the partition. */
  private step<T>(fn: (state: PartitionState) => Promise<T>, otherwise: T): Promise<T> {
    const run = this.tail.then(async () => {
      if (!(await this.ready())) return otherwise;
      try {
        return await fn(this.state!);
      } catch (err) {
        await this.failed(err as Error);
        return otherwise;
      }
    });
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async failed(err: Error): Promise<void> {
    this.state = null;
    this.status = 'restoring';
    if (FENCED.test(`${err.name} ${err.message} ${(err as { type?: string }).type ?? ''}`)) {
      this.lost = true;
      this.ctx.logger.warn('partition taken over by another instance', { partition: this.partition });
      return;
    }
    this.ctx.logger.error('partition step failed; restoring it from Kafka', { partition: this.partition, error: err.message });
    await new Promise((r) => setTimeout(r, 1_000));
    if (this.closed) return;
    this.opened = this.openUntilOpen();
    await this.opened.catch(() => undefined);
    if (this.nextOffset !== null) this.ctx.seek(this.partition, this.nextOffset);
  }

  private async commit(output: PartitionOutput, offset: number | null): Promise<void> {
    const { outputs, stateTopic, exchangesTopic, group, compression } = this.ctx;
    const topicMessages: TopicMessages[] = outputs.messages(output, this.partition);
    if (offset !== null) output.state.push(PartitionState.offsetWrite(offset));
    if (output.state.length > 0) {
      const messages: Message[] = output.state.map((w) => ({ key: w.key, value: w.value, partition: this.partition }));
      topicMessages.push({ topic: stateTopic, messages });
    }
    const tx = await this.producer!.transaction();
    try {
      if (topicMessages.length > 0) await tx.sendBatch({ topicMessages, acks: -1, compression });
      if (offset !== null) {
        await tx.sendOffsets({ consumerGroupId: group, topics: [{ topic: exchangesTopic, partitions: [{ partition: this.partition, offset: String(offset) }] }] });
      }
      await tx.commit();
    } catch (err) {
      await tx.abort().catch(() => undefined);
      throw err;
    }
    if (output.local.length > 0) this.ctx.keepLocally(output.local);
    for (const s of output.skipped) this.ctx.logger.warn('change skipped', { resource: s.intent.resource, key: s.intent.key, reason: s.reason });
  }
}
