/**
 * (m) State restore: one cluster instance started on a state topic holding `keys` keys (cluster-state.ts),
 * timed from its spawn until GET /cluster shows every partition owned and running, with the engine's
 * own restoreMs and restoredRecords per partition and the process's peak RSS. Baseline in the same
 * run: kafkajs alone reading the same topic read_committed into a Map (JSON.parse per value), in the
 * bench process: the floor of any restore on this broker.
 */
import type { Kafka } from 'kafkajs';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { startServer } from './children.js';
import { runNames, writeRunConfig } from './cluster-config.js';
import { deleteRun } from './cluster-load.js';
import { childPeakRssMiB } from './cluster-rss.js';
import { clusterView } from './cluster-settle.js';
import { writeStateTopic } from './cluster-state.js';

export interface RestoreOptions {
  kafka: Kafka;
  brokers: string[];
  spec: string;
  tmp: string;
  keys: number;
  partitions: number;
  seed: number;
}

export interface RestoreResult {
  keys: number;
  partitions: number;
  valueBytes: number;
  writeSeconds: number;
  /** Spawn until every partition is running. */
  seconds: number;
  /** Spawn until the HTTP server listened (engine started, group joined or joining). */
  listenSeconds: number;
  /** Largest restoreMs of a partition (the engine's: from opening the partition to running). */
  maxRestoreMs: number;
  restoredRecords: number;
  restoredKeys: number;
  cpuSeconds: number | null;
  peakRssMiB: number;
  floor: { seconds: number; records: number; cpuSeconds: number };
}

export async function measureRestore(o: RestoreOptions): Promise<RestoreResult> {
  const names = runNames('restore');
  const admin = o.kafka.admin();
  await admin.connect();
  try {
    const t0 = performance.now();
    const written = await writeStateTopic(o.kafka, names.exchangesTopic, o.partitions, o.keys, o.seed);
    const writeSeconds = (performance.now() - t0) / 1000;
    const config = writeRunConfig(o.tmp, { spec: o.spec, brokers: o.brokers, names, partitions: o.partitions });

    const spawned = performance.now();
    const server = await startServer('./cluster-instance.ts', [config, mkdtempSync(join(o.tmp, `${names.prefix}-data-`))]);
    let reflex: Omit<RestoreResult, 'floor' | 'keys' | 'partitions' | 'valueBytes' | 'writeSeconds'>;
    try {
      const listenSeconds = (performance.now() - spawned) / 1000;
      const deadline = performance.now() + 300_000;
      for (;;) {
        const view = await clusterView(server.url);
        const owned = view.owned;
        if (owned.length === o.partitions && owned.every((p) => p.status === 'running')) {
          reflex = {
            seconds: (performance.now() - spawned) / 1000, listenSeconds,
            maxRestoreMs: Math.max(...owned.map((p) => p.restoreMs ?? NaN)),
            restoredRecords: owned.reduce((n, p) => n + p.restoredRecords, 0),
            restoredKeys: owned.reduce((n, p) => n + (p.keys ?? 0), 0),
            cpuSeconds: server.cpuSeconds(),
            peakRssMiB: childPeakRssMiB(server.pid),
          };
          break;
        }
        if (performance.now() > deadline) throw new Error(`restore of ${o.keys} keys not done after 300 s: ${JSON.stringify(owned.map((p) => [p.partition, p.status, p.restoredRecords]))}`);
        await sleep(50);
      }
    } finally {
      await server.stop();
    }
    const floor = await readFloor(o.kafka, `${names.exchangesTopic}-state`);
    return { keys: o.keys, partitions: o.partitions, valueBytes: written.bytes, writeSeconds, ...reflex, floor };
  } finally {
    await deleteRun(admin, names).catch(() => undefined);
    await admin.disconnect();
  }
}

/** kafkajs alone: every record of `topic` from the beginning into a Map (JSON.parse per value), until its end offsets. */
async function readFloor(kafka: Kafka, topic: string): Promise<RestoreResult['floor']> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, Number(p.high)]));
  await admin.disconnect();
  const consumer = kafka.consumer({ groupId: `${topic}.floor`, maxBytesPerPartition: 4 << 20 });
  const state = new Map<string, unknown>();
  const left = new Set([...ends].filter(([, end]) => end > 0).map(([p]) => p));
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the floor read ${state.size} records of ${topic} in 300 s`)), 300_000);
      // A batch's last offset counts transaction markers too, which are never handed over.
      consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
        if (Number(payload.lastOffset) + 1 >= (ends.get(payload.partition) ?? 0)) left.delete(payload.partition);
        if (left.size === 0) {
          clearTimeout(timer);
          resolve();
        }
      });
      void consumer.run({
        partitionsConsumedConcurrently: 4,
        eachBatch: async ({ batch }) => {
          for (const m of batch.messages) state.set(m.key!.toString(), JSON.parse(m.value!.toString()));
        },
      }).catch(reject);
    });
  } finally {
    await consumer.disconnect().catch(() => undefined);
  }
  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { seconds, records: state.size, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
}
