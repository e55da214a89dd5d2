/**
 * (k) A Kafka-in, Kafka-out job: Kong logs pre-loaded on a topic of the test broker, reflex (kafka
 * source, the shop spec's rules and CDC, kafka sink) until the last record is on its output topics,
 * beside a plain kafkajs consumer that copies the same messages to another topic (consume, produce,
 * commit: the floor for any job on this broker). Target (issue 16): at least half the copy's rate, and
 * the source never paused by the sink's backlog on a healthy broker.
 */
import { CompressionTypes, Partitioners, type Kafka } from 'kafkajs';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { startKafka } from '../testbed/kafka.js';
import { procCpuSeconds, startServer, type ServerChild } from './children.js';
import { generateKongLogs } from './generate.js';
import { benchClient, benchTopics, total, watermarks } from './kafka-topics.js';
import { mark, num, pct, section, table, verdict, type Verdict } from './report.js';

export interface KafkaJobOptions {
  spec: string;
  tmp: string;
  logs: number;
  seed: number;
  partitions: number;
  target: number;
  out: (line?: string) => void;
}

interface JobRun {
  seconds: number;
  cpu: number | null;
  brokerCpu: number | null;
  /** Messages on the output topics. */
  messages: number;
}

const INPUT = 'job.kong';

export async function kafkaJobSection(o: KafkaJobOptions): Promise<Verdict> {
  const { out } = o;
  out(section('(k) Kafka to Kafka: Kong logs on a topic, reflex (kafka source, rules + CDC, kafka sink) to output topics'));
  out(`    ${num(o.logs)} Kong logs from bench/generate.ts (seed ${o.seed}) pre-loaded on topic ${INPUT} (${o.partitions} partitions, uncompressed, as Kong's kafka-log writes them)`);
  out('    reflex in a child process: kafka source (format kong, own consumer group, from the beginning), shop spec, store as shipped (sync full),');
  out('    reorder window 0, kafka sink to job.out.{stream} (3 partitions, idempotent, acks=all, gzip); timed from start until every log is');
  out('    ingested and the sink\'s backlog is 0 (GET /sources, GET /sinks polled every 50 ms)');
  out(`    baseline: kafkajs alone in the bench process, a consumer group copying every message of ${INPUT} to job.copy`);
  out('    (eachBatch: one send of the batch, idempotent, acks=all, gzip, then its offsets committed), timed until all are copied');

  const kafka = await startKafka({ reuse: false });
  const removeRunDir = () => rmSync(kafka.runDir, { recursive: true, force: true });
  process.once('exit', removeRunDir);
  const brokerCpu = () => procCpuSeconds(kafka.pid);
  const client = benchClient(kafka.brokers, 'bench-job');
  try {
    const bytes = await preload(client, o);
    out(`    pre-loaded ${num(o.logs)} messages, ${num(bytes / 2 ** 20, 1)} MiB`);
    const copy = await copyBaseline(client, o.logs, brokerCpu);
    const reflex = await reflexJob(kafka.brokers, o, brokerCpu);
    const rows = [['', 'logs', 'seconds', 'logs/s', 'output messages', 'CPU', 'broker CPU', 'max sink backlog', 'source paused']];
    rows.push(['reflex', num(o.logs), reflex.seconds.toFixed(1), num(o.logs / reflex.seconds), num(reflex.messages), pct(reflex.cpu), pct(reflex.brokerCpu),
      num(reflex.maxBacklog), reflex.paused ? 'yes' : 'no']);
    rows.push(['baseline (kafkajs copy)', num(o.logs), copy.seconds.toFixed(1), num(o.logs / copy.seconds), num(copy.messages), `${pct(copy.cpu)} *`, pct(copy.brokerCpu), '', '']);
    out(table(rows));
    out('    CPU: share of one core while running (* the bench process\'s, where the copy runs). max sink backlog: the highest undelivered');
    out(`    count GET /sinks showed; source paused: it reached the sink's maxBacklog (${num(reflex.maxBacklogLimit)}), where the source waits.`);
    const ratio = copy.seconds / reflex.seconds;
    const v = verdict('(k) Kafka to Kafka job / kafkajs copy', ratio >= o.target && !reflex.paused, `${ratio.toFixed(2)}${reflex.paused ? ', source paused' : ''} (target >= ${o.target}, no pause)`);
    out(`    ratio reflex / copy, logs/s: ${ratio.toFixed(2)}  target >= ${o.target}, no pause  ${mark(v)}`);
    return v;
  } finally {
    await kafka.stop();
    process.off('exit', removeRunDir);
  }
}

/** Kong logs onto the input topic, in sends of 1,000, untimed. */
async function preload(client: Kafka, o: KafkaJobOptions): Promise<number> {
  const admin = client.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: INPUT, numPartitions: o.partitions, replicationFactor: 1 }], waitForLeaders: true });
  await admin.disconnect();
  const producer = client.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  let bytes = 0;
  try {
    const { texts } = generateKongLogs({ count: o.logs, seed: o.seed });
    for (let i = 0; i < texts.length; i += 1_000) {
      const messages = texts.slice(i, i + 1_000).map((value) => ({ value }));
      for (const m of messages) bytes += Buffer.byteLength(m.value);
      await producer.send({ topic: INPUT, acks: -1, compression: CompressionTypes.None, messages });
    }
  } finally {
    await producer.disconnect();
  }
  return bytes;
}

async function copyBaseline(client: Kafka, expected: number, brokerCpu: () => number | null): Promise<JobRun> {
  const admin = client.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'job.copy', numPartitions: 3, replicationFactor: 1 }], waitForLeaders: true });
  const producer = client.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const consumer = client.consumer({ groupId: `bench-copy-${Date.now()}` });
  await consumer.connect();
  await consumer.subscribe({ topics: [INPUT], fromBeginning: true });
  let copied = 0;
  const [cpu0, broker0, t0] = [process.cpuUsage(), brokerCpu(), performance.now()];
  try {
    await new Promise<void>((resolve, reject) => {
      consumer.run({
        eachBatch: async ({ batch, resolveOffset, commitOffsetsIfNecessary }) => {
          const messages = batch.messages.map((m) => ({ key: m.key, value: m.value, headers: m.headers }));
          if (messages.length === 0) return;
          await producer.send({ topic: 'job.copy', acks: -1, compression: CompressionTypes.GZIP, messages });
          resolveOffset(batch.messages.at(-1)!.offset);
          await commitOffsetsIfNecessary();
          copied += messages.length;
          if (copied >= expected) resolve();
        },
      }).catch(reject);
    });
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const broker1 = brokerCpu();
    const messages = total(await watermarks(admin, ['job.copy']));
    return { seconds, cpu: (cpu.user + cpu.system) / 1e6 / seconds, brokerCpu: broker0 !== null && broker1 !== null ? (broker1 - broker0) / seconds : null, messages };
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }
}

async function reflexJob(brokers: string[], o: KafkaJobOptions, brokerCpu: () => number | null): Promise<JobRun & { maxBacklog: number; maxBacklogLimit: number; paused: boolean }> {
  const dir = mkdtempSync(join(o.tmp, 'reflex-job-'));
  const broker0 = brokerCpu();
  const t0 = performance.now();
  const server = await startServer('./kafka-job-server.ts', [o.spec, dir, brokers.join(','), INPUT, `bench-reflex-${Date.now()}`, 'job.out.']);
  let watch;
  try {
    watch = await untilDone(server, o.logs);
  } finally {
    await server.stop();
  }
  const seconds = (watch.doneAt - t0) / 1000;
  const broker1 = brokerCpu();
  const admin = benchClient(brokers, 'bench-job-marks').admin();
  await admin.connect();
  const messages = total(await watermarks(admin, await benchTopics(admin, 'job.out.')));
  await admin.disconnect();
  return {
    seconds,
    cpu: watch.cpu === null ? null : watch.cpu / seconds,
    brokerCpu: broker0 !== null && broker1 !== null ? (broker1 - broker0) / seconds : null,
    messages,
    maxBacklog: watch.maxBacklog,
    maxBacklogLimit: watch.limit,
    paused: watch.limit > 0 && watch.maxBacklog >= watch.limit,
  };
}

/** Polls until the source has ingested `logs` entries and every sink's backlog is 0. */
async function untilDone(server: ServerChild, logs: number, timeoutMs = 600_000) {
  const deadline = performance.now() + timeoutMs;
  let maxBacklog = 0;
  let limit = 0;
  for (;;) {
    const sources = (await (await request(`${server.url}/sources`)).body.json()) as Array<{ type: string; read: { entries: number } }>;
    const sinks = (await (await request(`${server.url}/sinks`)).body.json()) as Array<{ backlog: number; maxBacklog: number }>;
    const backlog = sinks.reduce((n, s) => n + s.backlog, 0);
    maxBacklog = Math.max(maxBacklog, backlog);
    limit = sinks[0]?.maxBacklog ?? 0;
    const read = sources.find((s) => s.type === 'kafka')?.read.entries ?? 0;
    if (read >= logs && backlog === 0) return { doneAt: performance.now(), cpu: server.cpuSeconds(), maxBacklog, limit };
    if (performance.now() > deadline) throw new Error(`(k) reflex read ${read} of ${logs} logs, sink backlog ${backlog}, after ${timeoutMs / 1000} s`);
    await sleep(50);
  }
}
