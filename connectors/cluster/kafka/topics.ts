import type { Admin } from 'kafkajs';
import type { Logger } from '../../../src/sdk/index.js';

export interface TopicPlan {
  topic: string;
  partitions: number;
  compacted: boolean;
  /** Co-partitioned topics must have exactly `partitions`: an existing one with another count is refused. */
  exact: boolean;
}

/**
 * Creates the topics cluster mode needs and checks those that exist. A co-partitioned topic (the
 * exchanges topic, its state topic, every changelog) with another partition count would send a key's
 * state to another partition than its exchanges: refused, naming the topic and both counts.
 */
export async function ensureTopics(admin: Admin, plans: TopicPlan[], replicationFactor: number | null, logger: Logger): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const missing = plans.filter((p) => !existing.has(p.topic));
  if (missing.length > 0) {
    await admin.createTopics({
      waitForLeaders: true,
      topics: missing.map((p) => ({
        topic: p.topic,
        numPartitions: p.partitions,
        ...(replicationFactor !== null ? { replicationFactor } : {}),
        configEntries: p.compacted ? [{ name: 'cleanup.policy', value: 'compact' }] : [],
      })),
    }).catch((err: Error & { type?: string }) => {
      // Another instance created it first: fine, it is checked below.
      if (err.type !== 'TOPIC_ALREADY_EXISTS' && !/already exists/i.test(err.message)) throw err;
    });
    for (const p of missing) logger.info('created topic', { topic: p.topic, partitions: p.partitions, compacted: p.compacted });
  }
  const exact = plans.filter((p) => p.exact);
  if (exact.length === 0) return;
  const { topics } = await admin.fetchTopicMetadata({ topics: exact.map((p) => p.topic) });
  for (const plan of exact) {
    const found = topics.find((t) => t.name === plan.topic);
    const count = found?.partitions.length ?? 0;
    if (count !== plan.partitions) {
      throw new Error(`topic ${plan.topic} has ${count} partitions, cluster.partitions is ${plan.partitions}: the exchanges topic, its state topic and every changelog topic must have the same count (co-partitioned), so a key's state is where its exchanges are`);
    }
  }
}
