import type { Admin, Kafka } from 'kafkajs';
import type { ClusterCommit, ClusterConsumerPositions, Logger } from '../../../src/sdk/index.js';
import type { PartitionRange } from './tail.js';

/** How long a commit through admin.setOffsets waits, in all, for a commit of the same consumer on another instance to let go of its group. */
const BUSY_WAIT_MS = 10_000;

/** The part of kafkajs' (internal) Cluster a direct commit uses. */
interface CoordinatorCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  findGroupCoordinator(options: { groupId: string }): Promise<{
    offsetCommit(request: { groupId: string; groupGenerationId: number; memberId: string; topics: Array<{ topic: string; partitions: Array<{ partition: number; offset: string }> }> }): Promise<unknown>;
  }>;
}

/**
 * kafkajs' own factory of its Cluster (a private member of its Kafka client; kafkajs is pinned to
 * 2.2.4 and patched, see patches/), or null when a later kafkajs has moved it.
 */
export function clusterFactory(kafka: Kafka): ((options: { allowAutoTopicCreation: boolean }) => CoordinatorCluster) | null {
  const key = Object.getOwnPropertySymbols(kafka).find((s) => s.description === 'private:Kafka:createCluster');
  const create = key === undefined ? undefined : (kafka as unknown as Record<symbol, unknown>)[key];
  return typeof create === 'function' ? (create as (options: { allowAutoTopicCreation: boolean }) => CoordinatorCluster) : null;
}

/** Errors of a commit to a group that has members: their offsets are theirs to commit. */
const HAS_MEMBERS = new Set(['UNKNOWN_MEMBER_ID', 'ILLEGAL_GENERATION', 'REBALANCE_IN_PROGRESS', 'STALE_MEMBER_EPOCH']);

/** Offsets after `offset` (the last record done with) up to the stable end; a position before the first record counts from it. */
export function lagOf(range: PartitionRange, offset: number): number {
  return Math.max(0, range.high - Math.max(range.low, offset + 1));
}

/**
 * The named consumers of the HTTP consumer API in cluster mode: consumer `c` is the Kafka consumer
 * group `<group>.api.<c>`, which has no members, only committed offsets, so that every instance
 * answers the same. The API's `offset` is the last record the consumer is done with: Kafka's
 * committed offset (the next one to read) minus 1, -1 for none.
 */
export class ApiConsumers {
  private readonly prefix: string;

  private readonly createCluster: ((options: { allowAutoTopicCreation: boolean }) => CoordinatorCluster) | null;
  private cluster: Promise<CoordinatorCluster> | null = null;

  constructor(kafka: Kafka, private readonly admin: Admin, group: string, private readonly logger: Logger) {
    this.prefix = `${group}.api.`;
    this.createCluster = clusterFactory(kafka);
    if (!this.createCluster) logger.warn('this kafkajs has no cluster factory where 2.2.4 has it: consumer positions are committed with admin.setOffsets, which joins the group (seconds per commit)');
  }

  async stop(): Promise<void> {
    const cluster = this.cluster;
    this.cluster = null;
    await cluster?.then((c) => c.disconnect()).catch(() => undefined);
  }

  groupOf(consumer: string): string {
    return this.prefix + consumer;
  }

  /** The consumer's committed Kafka offsets on the topic's partitions (-1: none). */
  async committed(topic: string, consumer: string): Promise<Map<number, number>> {
    const [found] = await this.admin.fetchOffsets({ groupId: this.groupOf(consumer), topics: [topic] });
    return new Map((found?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
  }

  /** The API position (last record done with, -1 for none) of the consumer on one partition. */
  async position(topic: string, consumer: string, partition: number): Promise<number> {
    const next = (await this.committed(topic, consumer)).get(partition) ?? -1;
    return next > 0 ? next - 1 : -1;
  }

  /** Every API consumer with a committed offset on the topic, in name order, with its position and lag on every partition. */
  async list(topic: string, ranges: PartitionRange[]): Promise<ClusterConsumerPositions[]> {
    const { groups } = await this.admin.listGroups();
    const names = groups.map((g) => g.groupId).filter((id) => id.startsWith(this.prefix) && id.length > this.prefix.length).map((id) => id.slice(this.prefix.length)).sort();
    const sorted = [...ranges].sort((a, b) => a.partition - b.partition);
    const listed = await Promise.all(names.map(async (consumer) => {
      const committed = await this.committed(topic, consumer);
      if (![...committed.values()].some((o) => o >= 0)) return null;
      const partitions = sorted.map((r) => {
        const next = committed.get(r.partition) ?? -1;
        const offset = next > 0 ? next - 1 : -1;
        return { partition: r.partition, offset, lag: lagOf(r, offset) };
      });
      return { consumer, partitions };
    }));
    return listed.filter((c): c is ClusterConsumerPositions => c !== null);
  }

  /**
   * Commits `offset` (the last record done with) as the consumer's position on one partition: an
   * OffsetCommit to the group's coordinator with no member and generation -1, as Kafka's own admin
   * (alterConsumerGroupOffsets) commits for a group without members. kafkajs' admin.setOffsets
   * joins the group instead and then waits out a fetch of nothing: 5 s per commit.
   */
  async commit(topic: string, consumer: string, range: PartitionRange, offset: number): Promise<ClusterCommit> {
    const groupId = this.groupOf(consumer);
    const partitions = [{ partition: range.partition, offset: String(offset + 1) }];
    const committed: ClusterCommit = { kind: 'committed', topic, partition: range.partition, offset, lag: lagOf(range, offset) };
    if (!this.createCluster) return (await this.setOffsets(groupId, topic, partitions)) ? committed : { kind: 'busy', group: groupId };
    for (let attempt = 1; ; attempt++) {
      try {
        const coordinator = await (await this.connected()).findGroupCoordinator({ groupId });
        await coordinator.offsetCommit({ groupId, groupGenerationId: -1, memberId: '', topics: [{ topic, partitions }] });
        return committed;
      } catch (err) {
        const e = err as Error & { type?: string; retriable?: boolean };
        if (e.type !== undefined && HAS_MEMBERS.has(e.type)) return { kind: 'busy', group: groupId };
        // NOT_COORDINATOR and the like: ask again where the group is.
        if (attempt >= 5 || !e.retriable) throw err;
        this.logger.debug('a consumer position commit failed; trying again', { group: groupId, attempt, error: e.message });
        await new Promise((r) => setTimeout(r, 100 * attempt));
      }
    }
  }

  private connected(): Promise<CoordinatorCluster> {
    if (!this.cluster) {
      const cluster = this.createCluster!({ allowAutoTopicCreation: false });
      const connecting = cluster.connect().then(() => cluster);
      this.cluster = connecting;
      // A failed connection is not kept: the next commit connects again.
      void connecting.catch(() => this.cluster === connecting && (this.cluster = null));
    }
    return this.cluster;
  }

  /** The fallback: kafkajs' admin joins the group for a moment, so a commit of the same consumer elsewhere makes it wait. */
  private async setOffsets(groupId: string, topic: string, partitions: Array<{ partition: number; offset: string }>): Promise<boolean> {
    const deadline = Date.now() + BUSY_WAIT_MS;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.admin.setOffsets({ groupId, topic, partitions });
        return true;
      } catch (err) {
        if (!/no running instances/.test((err as Error).message)) throw err;
        if (Date.now() > deadline) return false;
        await new Promise((r) => setTimeout(r, Math.min(1_000, 100 * attempt)));
      }
    }
  }
}
