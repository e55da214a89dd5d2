/**
 * (m) Cluster mode (issue 17): Kong logs over HTTP until every event and change record is on Kafka,
 * single-node reflex with a kafka sink beside a cluster of 1 and of 2 instances on the same input and
 * broker; the kafkajs floor of the cluster's Kafka work; and the time one instance takes to restore a
 * state topic of 1M keys, beside kafkajs reading the same topic.
 */
import { rmSync } from 'node:fs';
import { startKafka } from '../testbed/kafka.js';
import { procCpuSeconds } from './children.js';
import { measureEosFloor, type FloorResult } from './cluster-floor.js';
import { deleteRun, runLoad, type LoadResult } from './cluster-load.js';
import { measureRestore } from './cluster-restore.js';
import type { Batch } from './http-client.js';
import { benchClient } from './kafka-topics.js';
import { num, pct, section, table } from './report.js';

export interface ClusterSectionOptions {
  spec: string;
  tmp: string;
  path: string;
  concurrency: number;
  warmup: Batch[];
  load: Batch[];
  /** cluster.partitions of the cluster runs. */
  partitions: number;
  /** A last cluster run with few partitions: fewer, larger transactions, and the rate one partition can take. */
  few: { instances: number; partitions: number };
  restoreKeys: number;
  seed: number;
  out: (line?: string) => void;
}

export async function clusterSection(o: ClusterSectionOptions): Promise<void> {
  const { out } = o;
  const entries = o.load.reduce((n, b) => n + b.entries, 0);
  out(section('(m) Cluster mode: Kong logs over HTTP until every record is on Kafka, 1 and 2 instances beside single node'));
  out(`    ${num(entries)} Kong log entries (the (b)-(e) input), POST ${o.path} in batches of ${o.load[0]?.entries ?? 0}, ${o.concurrency} in flight in all, round-robin over the`);
  out(`    instances, after ${o.warmup.length} warm-up batches; timed from the first POST until every record is on the output topics (single node:`);
  out(`    GET /sinks backlog 0; cluster: the group's committed offsets at the end of the exchanges topic, which the owners commit in the`);
  out(`    transaction that writes the outputs). Each run: fresh topics, group and stores, reorder window 0, otherwise as shipped`);
  out(`    (store sync full, kafka sink: 3 partitions per event topic, idempotent, acks=all, gzip); cluster.partitions ${o.partitions}`);
  out(`    (and ${o.few.partitions} in the last run).`);
  out(`    Every process on this machine: the broker (own JVM, testbed/kafka.ts), the reflex processes and this client share its cores.`);

  const startedAt = performance.now();
  const kafka = await startKafka({ reuse: false });
  const removeRunDir = () => rmSync(kafka.runDir, { recursive: true, force: true });
  process.once('exit', removeRunDir);
  const brokerCpu = () => procCpuSeconds(kafka.pid);
  const client = benchClient(kafka.brokers, 'bench-cluster');
  const admin = client.admin();
  await admin.connect();
  try {
    out(`    broker: Kafka ${kafka.version}, started in ${num((performance.now() - startedAt) / 1000, 1)} s`);
    const common = { spec: o.spec, tmp: o.tmp, brokers: kafka.brokers, admin, path: o.path, concurrency: o.concurrency, warmup: o.warmup, load: o.load, brokerCpu };
    const runs: LoadResult[] = [];
    runs.push(await runLoad({ ...common, name: 'single node, kafka sink', label: 'single', partitions: null, instances: 1 }));
    const one = await runLoad({ ...common, name: 'cluster, 1 instance', label: 'c1', partitions: o.partitions, instances: 1, keepTopics: true });
    runs.push(one);
    let floor: FloorResult;
    try {
      floor = await measureEosFloor({ kafka: client, brokers: kafka.brokers, from: one.names.exchangesTopic, partitions: o.partitions, concurrency: o.concurrency, brokerCpu });
    } finally {
      await deleteRun(admin, one.names);
    }
    runs.push(await runLoad({ ...common, name: 'cluster, 2 instances', label: 'c2', partitions: o.partitions, instances: 2 }));
    const { instances, partitions } = o.few;
    const few = `cluster, ${instances} instance${instances > 1 ? 's' : ''}, ${partitions} partition${partitions > 1 ? 's' : ''}`;
    runs.push(await runLoad({ ...common, name: few, label: 'few', partitions, instances }));
    printLoad(out, runs, floor);

    const restore = await measureRestore({ kafka: client, brokers: kafka.brokers, spec: o.spec, tmp: o.tmp, keys: o.restoreKeys, partitions: o.partitions, seed: o.seed });
    out();
    out(`    restore: a state topic of ${num(restore.keys)} keys over ${restore.partitions} partitions (key s|orders|<id>, an order's ResourceState, ${num(restore.valueBytes / restore.keys)} bytes`);
    out(`    of JSON each, gzip), produced directly by kafkajs in ${num(restore.writeSeconds, 1)} s (not by running the cluster on 1M creates); then one instance started`);
    out(`    on it, timed from its spawn until GET /cluster shows all ${restore.partitions} partitions running. Baseline: kafkajs alone in the bench process`);
    out(`    reading the same topic read_committed into a Map (JSON.parse per value).`);
    out(table([
      ['', 'keys', 'seconds', 'keys/s', 'records read', 'CPU', 'peak RSS', 'listening after', 'slowest partition'],
      ['reflex instance, spawn to running', num(restore.restoredKeys), num(restore.seconds, 1), num(restore.restoredKeys / restore.seconds), num(restore.restoredRecords),
        `${num(restore.cpuSeconds ?? NaN, 1)} s`, `${num(restore.peakRssMiB)} MiB`, `${num(restore.listenSeconds, 1)} s`, `${num(restore.maxRestoreMs / 1000, 1)} s`],
      ['baseline (kafkajs into a Map)', num(restore.floor.records), num(restore.floor.seconds, 1), num(restore.floor.records / restore.floor.seconds), num(restore.floor.records),
        `${num(restore.floor.cpuSeconds, 1)} s *`, '', '', ''],
    ]));
    out(`    slowest partition: the engine's restoreMs (opening its transactional producer, reading its state, to running). CPU: the instance's`);
    out(`    from spawn (Node start, spec, Kafka clients included); * the bench process's. peak RSS: VmHWM of the instance once running.`);
  } finally {
    await admin.disconnect().catch(() => undefined);
    await kafka.stop();
    process.off('exit', removeRunDir);
  }
}

function printLoad(out: (line?: string) => void, runs: LoadResult[], floor: FloorResult): void {
  const base = runs[0]!;
  const perExchange = (cpu: number | null, r: { entries: number }) => (cpu === null ? 'n/a' : num((cpu / r.entries) * 1e6));
  out(table([
    ['', 'exchanges/s', 'vs single', 'seconds', 'answered', 'reflex CPU', 'µs/exch.', 'broker CPU', 'µs/exch.', 'client CPU', 'peak RSS', 'errors'],
    ...runs.map((r) => [
      r.name, num(r.entries / r.seconds), `${((r.entries / r.seconds) / (base.entries / base.seconds)).toFixed(2)}×`, num(r.seconds, 1), `${num(r.ingestSeconds, 1)} s`,
      pct(r.reflexCpu === null ? null : r.reflexCpu / r.seconds), perExchange(r.reflexCpu, r), pct(r.brokerCpu === null ? null : r.brokerCpu / r.seconds), perExchange(r.brokerCpu, r),
      pct(r.clientCpu / r.seconds), r.peakRssMiB.map((m) => num(m)).join(' + ') + ' MiB', num(r.tally.errors),
    ]),
    ['floor: kafkajs, same Kafka work', num(floor.exchanges / floor.seconds), `${((floor.exchanges / floor.seconds) / (base.entries / base.seconds)).toFixed(2)}×`, num(floor.seconds, 1), `${num(floor.producedSeconds, 1)} s`,
      `${pct(floor.clientCpu / floor.seconds)} *`, `${perExchange(floor.clientCpu, { entries: floor.exchanges })} *`, pct(floor.brokerCpu === null ? null : floor.brokerCpu / floor.seconds), perExchange(floor.brokerCpu, { entries: floor.exchanges }), '', '', ''],
  ]));
  out(`    answered: first POST to the last 200. reflex CPU: all reflex processes together (share of one core; µs per posted exchange, every thread).`);
  out(`    floor (*: the bench process's CPU): kafkajs alone moving the ${num(floor.exchanges)} messages of the 1-instance run's exchanges topic (warm-up included;`);
  out(`    unmatched entries never reach it) as the cluster does: produced with acks=all in sends of ${floor.sendSize} (${floor.inFlight} in flight) while a group of one`);
  out(`    consumes them, one transactional producer per partition copying each fetched batch (gzip) and committing its offsets in the`);
  out(`    transaction, until all are committed; exchanges/s there is messages/s.`);
  out(`    Records on the output topics, read back read_committed (warm-up included), and the cluster's transactions (markers on its state topic):`);
  out(table([
    ['', 'events', 'distinct ce_id', 'change records', 'tombstones', 'exchanges on Kafka', 'transactions', 'exchanges/tx'],
    ...runs.map((r) => {
      const { events, distinctEvents, changes, tombstones, exchanges, transactions } = r.outputs;
      return [r.name, num(events), num(distinctEvents), num(changes), num(tombstones), exchanges === null ? '' : num(exchanges), transactions === null ? '' : num(transactions),
        exchanges === null || !transactions ? '' : num(exchanges / transactions, 1)];
    }),
  ]));
  out(`    change records differ between runs by the updates that reached their key's owner after a newer one (reorder window 0: dropped`);
  out(`    as late, never rolling the state back); two instances answering in parallel reorder more.`);
  for (const r of runs) if (r.tally.firstError) out(`    ${r.name}: first error: ${r.tally.firstError}`);
}
