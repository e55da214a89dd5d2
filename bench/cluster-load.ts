/**
 * (m) One end-to-end run: reflex processes (one single node, or 1-2 cluster instances) on fresh
 * topics, Kong logs posted round-robin to them, timed from the first POST until every record is on
 * the output topics; then the outputs read back read_committed and counted, and the run's topics and
 * group deleted so the broker's disk does not fill.
 */
import type { Admin } from 'kafkajs';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { readTopics } from '../test/support/topic-reader.js';
import { startServer, type ServerChild } from './children.js';
import { runNames, writeRunConfig, type RunNames } from './cluster-config.js';
import { childPeakRssMiB } from './cluster-rss.js';
import { clusterDone, clusterShared, singleNodeDone } from './cluster-settle.js';
import { createPool, emptyTally, postBatch, type Batch, type Tally } from './http-client.js';

export interface LoadOptions {
  name: string;
  label: string;
  spec: string;
  tmp: string;
  brokers: string[];
  admin: Admin;
  /** Cluster partitions; null: single node. */
  partitions: number | null;
  instances: number;
  path: string;
  /** Requests in flight in all (shared out round-robin). */
  concurrency: number;
  warmup: Batch[];
  load: Batch[];
  brokerCpu: () => number | null;
  /** Keep the run's topics for a later step (the kafkajs floor reads the exchanges); it deletes them. */
  keepTopics?: boolean;
}

export interface OutputCounts {
  events: number;
  /** Events with distinct ce_id: fewer than `events` means a duplicate. */
  distinctEvents: number;
  changes: number;
  tombstones: number;
  /** Cluster: transactions committed (the state topic's markers), warm-up included. */
  transactions: number | null;
  /** Cluster: messages on the exchanges topic (every matched exchange, warm-up included). */
  exchanges: number | null;
}

export interface LoadResult {
  name: string;
  names: RunNames;
  instances: number;
  partitions: number | null;
  entries: number;
  /** First POST until every record is on the output topics. */
  seconds: number;
  /** First POST until the last answer. */
  ingestSeconds: number;
  reflexCpu: number | null;
  brokerCpu: number | null;
  clientCpu: number;
  tally: Tally;
  /** Warm-up and load together (read back after the run). */
  outputs: OutputCounts;
  peakRssMiB: number[];
}

export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const names = runNames(o.label);
  const config = writeRunConfig(o.tmp, { spec: o.spec, brokers: o.brokers, names, partitions: o.partitions });
  const servers: ServerChild[] = [];
  try {
    // One after the other: the first creates the topics, the next joins the group.
    for (let i = 0; i < o.instances; i++) servers.push(await startServer('./cluster-instance.ts', [config, mkdtempSync(join(o.tmp, `${names.prefix}-data-`))]));
    const urls = servers.map((s) => s.url);
    if (o.partitions !== null) await clusterShared(urls, o.partitions);
    const done = () => (o.partitions === null ? singleNodeDone(urls[0]!) : clusterDone(o.admin, names.exchangesTopic, names.group));
    const pools = urls.map((u) => createPool(u, o.concurrency));
    try {
      const warm = emptyTally();
      await postRoundRobin(o.concurrency, o.warmup, (b, i) => postBatch(pools[i % pools.length]!, o.path, b, warm));
      if (warm.errors > 0) throw new Error(`warm-up failed: ${warm.firstError}`);
      await done();

      const tally = emptyTally();
      const cpu = () => sumOrNull(servers.map((s) => s.cpuSeconds()));
      const [reflex0, broker0, client0] = [cpu(), o.brokerCpu(), process.cpuUsage()];
      const start = performance.now();
      await postRoundRobin(o.concurrency, o.load, (b, i) => postBatch(pools[i % pools.length]!, o.path, b, tally));
      const answered = performance.now();
      await done();
      const seconds = (performance.now() - start) / 1000;
      const [reflex1, broker1, client] = [cpu(), o.brokerCpu(), process.cpuUsage(client0)];
      const peakRssMiB = servers.map((s) => childPeakRssMiB(s.pid));
      return {
        name: o.name, names, instances: o.instances, partitions: o.partitions, entries: tally.entries, seconds, ingestSeconds: (answered - start) / 1000,
        reflexCpu: reflex0 !== null && reflex1 !== null ? reflex1 - reflex0 : null,
        brokerCpu: broker0 !== null && broker1 !== null ? broker1 - broker0 : null,
        clientCpu: (client.user + client.system) / 1e6,
        tally, outputs: await readBack(o.brokers, o.admin, names, o.partitions !== null), peakRssMiB,
      };
    } finally {
      await Promise.all(pools.map((p) => p.close()));
    }
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    if (!o.keepTopics) await deleteRun(o.admin, names);
  }
}

function sumOrNull(values: Array<number | null>): number | null {
  return values.some((v) => v === null) ? null : values.reduce<number>((a, v) => a + v!, 0);
}

/** Batch i goes to instance i mod n, `concurrency` in flight in all, each as soon as one is answered. */
async function postRoundRobin(concurrency: number, batches: Batch[], send: (b: Batch, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const loop = async () => {
    while (next < batches.length) {
      const i = next++;
      await send(batches[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
}

/**
 * The run's output topics read back as a consumer would (read_committed), counted by kind; in cluster
 * mode also its state topic, whose partitions each step's transaction writes once: its end offsets
 * minus its records are the transaction markers, one per transaction.
 */
async function readBack(brokers: string[], admin: Admin, names: RunNames, cluster: boolean): Promise<OutputCounts> {
  const stateTopic = `${names.exchangesTopic}-state`;
  const internal = new Set([names.exchangesTopic, stateTopic]);
  const topics = (await admin.listTopics()).filter((t) => t.startsWith(`${names.prefix}.`) && !internal.has(t));
  const messages = await readTopics(brokers, topics, 120_000);
  const counts: OutputCounts = { events: 0, distinctEvents: 0, changes: 0, tombstones: 0, transactions: null, exchanges: null };
  const ids = new Set<string>();
  for (const m of messages) {
    if (!m.topic.endsWith('.changelog')) {
      counts.events++;
      ids.add(m.headers.ce_id ?? '');
    } else if (m.value === null) counts.tombstones++;
    else counts.changes++;
  }
  counts.distinctEvents = ids.size;
  if (cluster) {
    const end = async (topic: string) => (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high), 0);
    counts.transactions = (await end(stateTopic)) - (await readTopics(brokers, [stateTopic], 120_000)).length;
    counts.exchanges = await end(names.exchangesTopic);
  }
  return counts;
}

/** Deletes every topic of the run and its consumer group (a single node has none). */
export async function deleteRun(admin: Admin, names: RunNames): Promise<void> {
  const topics = (await admin.listTopics()).filter((t) => t.startsWith(`${names.prefix}.`));
  if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 30_000 });
  await admin.deleteGroups([names.group]).catch(() => undefined);
}
