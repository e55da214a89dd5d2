/**
 * reflex benchmark (`npm run bench`): the rule engine alone, HTTP ingest throughput and latency at a
 * fixed rate, CDC, end to end into Kafka, webhook deliveries, the file, s3 and elasticsearch sources, the postgres sink, each beside a baseline measured in the same run on the same input. Prints PASS/MISS
 * against the targets but exits 0 on a miss: a benchmark informs, it does not gate.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { arch, availableParallelism, cpus, loadavg, platform, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { loadSpecSet } from '../src/spec/compile.js';
import { killAll, ROOT, startServer, type ServerChild } from './children.js';
import { generateKongLogs } from './generate.js';
import { measureCdc, measureCdcLag, measureLiveKeysRss, type CdcBenchResult } from './cdc.js';
import type { CompiledSpecSet } from '../src/spec/types.js';
import { toBatches, type Batch, type Tally } from './http-client.js';
import { kafkaSection } from './kafka-section.js';
import { kafkaJobSection } from './kafka-job.js';
import { webhookSection } from './webhooks.js';
import { fileBacklogSection } from './file-backlog.js';
import { s3Section } from './s3-section.js';
import { esSection } from './es-section.js';
import { postgresSection } from './postgres-section.js';
import { measureLatency, type LatencyResult } from './latency.js';
import { drainCdc } from './reflex-drain.js';
import { mark, ms, num, pct, section, table, verdict, type Verdict } from './report.js';
import { checksum, measureRuleEngine } from './rule-engine.js';
import { measureThroughput, type ThroughputResult } from './throughput.js';
import { workersSection } from './workers-section.js';
import { clusterSection } from './cluster-section.js';

const SPEC = join(ROOT, 'examples/shop/openapi.yaml');
const SEED = 42;
const BATCH = 100;
const WARMUP_BATCHES = 30;
/** Enough distinct entries that reflex never runs out within THROUGHPUT_MS (it drops re-sent ones). */
const MEASURED_BATCHES = 1_200;
const ENGINE_ENTRIES = 10_000;
const ENGINE = { warmupMs: 2_000, roundMs: 400, rounds: 15 };
const CONCURRENCY = 8;
const THROUGHPUT_MS = 5_000;
const LATENCY = { batchesPerSecond: 50, durationMs: 10_000, connections: 64 };
const CDC = {
  exchanges: Number(process.env.BENCH_CDC_EXCHANGES ?? 1_000_000), keys: 100_000,
  liveKeys: Number(process.env.BENCH_CDC_LIVE_KEYS ?? 1_000_000),
  lag: { rate: 10_000, seconds: 10, keys: 100_000, windowMs: 3_000 },
  targets: { changesPerSecond: 40_000, bytesPerMillion: 0.8e9, rssMiB: 300 },
};
/**
 * (e): 500 batches as fast as reflex takes them, then 100 paced at 2,000 entries/s and the 600 left at
 * 20,000/s (the sink's lag under sustained load, issue 16); 500 = the sink dispatcher's batch. Then the
 * Bento comparison: 1,000 batches (100k entries) until the last record is on Kafka.
 */
const KAFKA = { loadBatches: 500, paced: [{ batches: 100, perSecond: 20 }, { batches: 600, perSecond: 200 }], jobBatches: 1_000, jobTargetSeconds: 3.9, sinceAckTargetMs: 1_000, sinkBatch: 500 };
/** (f): 20k events to one receiver, 1k events to each of 50 receivers. */
const WEBHOOKS = { single: 20_000, perEndpoint: 1_000, receivers: 50, concurrency: 16, keys: 1_000 };
/** (g): size of the generated file-log backlog. */
const FILE_MB = Number(process.env.BENCH_FILE_MB ?? 1024);
/** (h): 20 gzip objects of 10k entries each, then one large plain object of BENCH_S3_LARGE_MB. */
const S3 = { objects: 20, entriesPerObject: 10_000, largeMegabytes: Number(process.env.BENCH_S3_LARGE_MB ?? 300), target: 0.5 };
/** (i): ECS documents in the local Elasticsearch, read in pages of 1,000 (the source's default batchSize). */
const ES = { documents: Number(process.env.BENCH_ES_DOCS ?? 100_000), pageSize: 1_000, seed: SEED, target: 0.5 };
/** (j): change records over a tenth as many keys, into PostgreSQL; the ways of writing the floor are tried on the first trialRecords. */
const PG_CHANGES = Number(process.env.BENCH_PG_CHANGES ?? 1_000_000);
const PG = { changes: PG_CHANGES, keys: Math.max(1, Math.round(PG_CHANGES / 10)), seed: SEED, target: 0.6, trialRecords: 100_000 };
/** (k): Kong logs pre-loaded on a topic, reflex (kafka source, rules + CDC, kafka sink) beside a kafkajs copy of the same messages. */
const KAFKA_JOB = { logs: Number(process.env.BENCH_KAFKA_JOB_LOGS ?? 200_000), seed: SEED, partitions: 3, target: 0.5 };
/** (m): cluster mode, the (b) input's first `logs` entries; restore of a state topic of `restoreKeys` keys. */
const CLUSTER = { logs: Number(process.env.BENCH_CLUSTER_LOGS ?? 30_000), partitions: 12, few: { instances: 1, partitions: 1 }, restoreKeys: Number(process.env.BENCH_CLUSTER_RESTORE_KEYS ?? 1_000_000) };
/** `BENCH_ONLY=a,f npm run bench` runs only those sections. */
const ONLY = process.env.BENCH_ONLY?.split(',').map((s) => s.trim().toLowerCase());
const want = (letter: string) => !ONLY || ONLY.includes(letter);
/** (b) and (c): issue 16's targets (sync full is the default and what they are about). */
const TARGETS = { engineRatio: 0.5, httpRatio: 0.6, p99Ms: 20 };
const INGEST_PATH = '/ingest/kong';

// The AWS SDK's warning that its 2027 releases need Node 22 would interleave the report, once per process.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const tmp = mkdtempSync(join(tmpdir(), 'reflex-bench-'));
const cleanup = () => {
  killAll();
  rmSync(tmp, { recursive: true, force: true });
};
process.on('exit', cleanup);
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

const out = (line = '') => process.stdout.write(line + '\n');

async function main(): Promise<void> {
  const verdicts: Verdict[] = [];
  out(`reflex benchmark, ${new Date().toISOString()}`);
  out(`machine: ${availableParallelism()} cores (${cpus()[0]?.model.trim() ?? 'unknown CPU'}), ${num(totalmem() / 2 ** 30, 1)} GiB, Node ${process.version}, ${platform()} ${arch()}`);
  out(`load average before: ${loadavg().map((l) => l.toFixed(2)).join(' ')} (other work on the machine skews every figure below)`);

  const { engineInput, warmup, batches } = prepareInput();
  const specs = await loadSpecSet([SPEC]);
  const rules = specs.operations.reduce((n, op) => n + op.rules.length, 0);
  const cdcOps = specs.operations.filter((op) => op.resource?.cdc).length;
  out(`spec: examples/shop/openapi.yaml, ${specs.operations.length} operations, ${rules} event rules, ${cdcOps} operations with CDC`);

  if (want('a')) verdicts.push(await ruleEngineSection(engineInput, specs));
  if (want('b')) verdicts.push(...(await throughputSection(warmup, batches)));
  if (want('c')) verdicts.push(...(await latencySection(warmup, batches)));

  if (want('d')) {
    verdicts.push(...cdcSection(await measureCdc(CDC.exchanges, CDC.keys)));
    verdicts.push(await cdcLiveKeysSection());
  }
  if (want('e')) {
    let from = KAFKA.loadBatches;
    const paced = KAFKA.paced.map((p) => {
      const phase = { name: `paced ${num(p.perSecond * BATCH)}/s`, batches: batches.slice(from, from + p.batches), perSecond: p.perSecond };
      from += p.batches;
      return phase;
    });
    verdicts.push(...(await kafkaSection({
      spec: SPEC, tmp, path: INGEST_PATH, concurrency: CONCURRENCY, warmup, out, sinkBatch: KAFKA.sinkBatch,
      load: batches.slice(0, KAFKA.loadBatches), paced,
      job: batches.slice(0, KAFKA.jobBatches), jobTargetSeconds: KAFKA.jobTargetSeconds, sinceAckTargetMs: KAFKA.sinceAckTargetMs,
    })));
  }
  if (want('f')) await webhookSection({ tmp, out, ...WEBHOOKS });
  if (want('g')) await fileBacklogSection({ tmp, out, megabytes: FILE_MB });
  if (want('h')) verdicts.push(await s3Section({ tmp, out, ...S3 }));
  if (want('i')) verdicts.push(await esSection({ tmp, out, ...ES }));
  if (want('j')) verdicts.push(await postgresSection({ tmp, out, ...PG }));
  if (want('k')) verdicts.push(await kafkaJobSection({ spec: SPEC, tmp, out, ...KAFKA_JOB }));
  if (want('l')) await workersSection({ spec: SPEC, tmp, path: INGEST_PATH, out, counts: [0, 1, 2], concurrency: CONCURRENCY, durationMs: THROUGHPUT_MS, warmup, batches });
  if (want('m')) await clusterSection({ spec: SPEC, tmp, out, path: INGEST_PATH, concurrency: CONCURRENCY, warmup, load: batches.slice(0, CLUSTER.logs / BATCH), partitions: CLUSTER.partitions, few: CLUSTER.few, restoreKeys: CLUSTER.restoreKeys, seed: SEED });

  out(section('Summary'));
  out(`    load average after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  for (const v of verdicts) out(`    ${mark(v)}  ${v.name}: ${v.detail}`);
  out(`    (loop checksum ${checksum()}: printed only so that no measured work can be optimised away)`);
}

async function cdcLiveKeysSection(): Promise<Verdict> {
  const live = await measureLiveKeysRss(CDC.liveKeys);
  out(`    RSS with ${num(live.keys)} live CDC keys (one create each, in a child process of its own): peak ${num(live.peakRssMiB)} MiB (${num(live.keys / live.seconds)} creates/s); set BENCH_CDC_LIVE_KEYS to change the count`);
  const v = verdict('(d) RSS with 1M live CDC keys', live.peakRssMiB < CDC.targets.rssMiB, `${num(live.peakRssMiB)} MiB (target < ${CDC.targets.rssMiB} MiB)`);
  const { rate, seconds, keys, windowMs } = CDC.lag;
  const lag = await measureCdcLag(rate, seconds, keys, windowMs);
  out(`    lag from acknowledgement to change record at ${num(rate)} exchanges/s offered (${num(lag.achieved)} achieved) for ${seconds} s, reorder window ${windowMs / 1000} s:`);
  out(`    p50 ${ms(lag.p50)}, p99 ${ms(lag.p99)}, max ${ms(lag.max)} over ${num(lag.changes)} change records (the window itself is ${ms(windowMs)} of it)`);
  return v;
}

function cdcSection(r: CdcBenchResult): Verdict[] {
  out(section('(d) Change data capture: CDC-heavy mix into the embedded store, in process'));
  out(`    ${num(r.exchanges)} exchanges on the orders resource (30% creates, 70% updates) over ${num(r.keys)} keys, Ingestor in batches of 100,`);
  out(`    store sync normal, reorder window 0 (changes applied in each batch's transaction); set BENCH_CDC_EXCHANGES to change the count`);
  out(`    baseline: the same exchanges through the same spec with cdc: false (events only), in the same run`);
  const mib = (b: number) => `${num(b / 2 ** 20, 1)} MiB`;
  out(table([
    ['', 'exchanges/s', 'change records/s', 'change records', 'events', 'on disk'],
    ['with CDC', num(r.cdc.exchangesPerSecond), num(r.cdc.changeRecordsPerSecond), num(r.cdc.changeRecords), num(r.cdc.events), mib(r.cdc.bytesOnDisk)],
    ['events only', num(r.eventsOnly.exchangesPerSecond), '', '', num(r.eventsOnly.events), mib(r.eventsOnly.bytesOnDisk)],
  ]));
  const perMillion = (r.cdc.bytesOnDisk / r.exchanges) * 1e6;
  out(`    on disk per 1M CDC exchanges: ${num(perMillion / 1e9, 2)} GB (events only: ${num(((r.eventsOnly.bytesOnDisk / r.exchanges) * 1e6) / 1e9, 2)} GB)`);
  return [
    verdict('(d) CDC change records/s', r.cdc.changeRecordsPerSecond >= CDC.targets.changesPerSecond, `${num(r.cdc.changeRecordsPerSecond)}/s (target >= ${num(CDC.targets.changesPerSecond)}/s)`),
    verdict('(d) on disk per 1M CDC exchanges', perMillion <= CDC.targets.bytesPerMillion, `${num(perMillion / 1e9, 2)} GB (target <= 0.8 GB)`),
  ];
}

async function ruleEngineSection(engineInput: string[], specs: CompiledSpecSet): Promise<Verdict> {
  out(section('(a) Rule engine alone: one process, no I/O'));
  out(`    measured: kongFormat.decode(entry JSON text) + processExchange(compiled shop spec), per entry`);
  out(`    (processExchange includes computing CDC changes; applying them is the store's job, measured in (b))`);
  out(`    baseline: JSON.parse of the same entry texts`);
  out(`    compiled with tsc, as \`reflex serve\` runs (under tsx, esbuild adds a __name() call per closure: a few per cent slower)`);
  out(`    ${num(engineInput.length)} distinct entries cycled; ${ENGINE.warmupMs / 1000} s warm-up per loop, then the median of ${ENGINE.rounds} alternating rounds of ${ENGINE.roundMs / 1000} s`);
  const engine = await measureRuleEngine(engineInput, specs, ENGINE);
  const o = engine.outcomes;
  out(`    one pass: ${num(o.matched)} matched (${num(o.events)} events, ${num(o.cdc)} CDC changes), ${num(o.unmatched)} unmatched, ${num(o.failed)} failed, ${num(o.async)} went async`);
  if (engine.firstFailure) out(`    first failure: ${engine.firstFailure}`);
  out(table([
    ['', 'exchanges/s', 'µs each'],
    ['rule engine', num(engine.engineRate), num(1e6 / engine.engineRate, 1)],
    ['JSON.parse baseline', num(engine.parseRate), num(1e6 / engine.parseRate, 1)],
  ]));
  const v = verdict('(a) rule engine / JSON.parse', engine.ratio >= TARGETS.engineRatio, `${engine.ratio.toFixed(2)} (target >= ${TARGETS.engineRatio})`);
  const [lo, hi] = engine.ratioRange;
  out(`    ratio: ${engine.ratio.toFixed(2)} (rounds ranged ${lo.toFixed(2)}-${hi.toFixed(2)})  target >= ${TARGETS.engineRatio}  ${mark(v)}`);
  return v;
}

async function throughputSection(warmup: Batch[], batches: Batch[]): Promise<Verdict[]> {
  const verdicts: Verdict[] = [];
  out(section('(b) HTTP ingest throughput: client and server in separate processes'));
  out(`    POST ${INGEST_PATH}, JSON arrays of ${BATCH} entries (as Kong http-log batches), undici Pool, ${CONCURRENCY} requests in flight`);
  out(`    ${WARMUP_BATCHES} warm-up batches, then up to ${THROUGHPUT_MS / 1000} s; reflex gets each entry once (${num(MEASURED_BATCHES * BATCH)} available), a fresh store per run`);
  out(`    baseline: bare node:http server in a child process that reads each body, JSON.parses it, answers 200`);
  const runs: Array<[string, ThroughputResult]> = [];
  for (const sync of ['full', 'normal'] as const) {
    runs.push([`reflex (sync ${sync})`, await withServer(reflexServer(sync), (s) =>
      measureThroughput(s, { path: INGEST_PATH, concurrency: CONCURRENCY, durationMs: THROUGHPUT_MS, warmup, batches, cycle: false, drain: drainCdc }))]);
  }
  const baseline = await withServer(baselineServer(), (s) =>
    measureThroughput(s, { path: INGEST_PATH, concurrency: CONCURRENCY, durationMs: THROUGHPUT_MS, warmup, batches, cycle: true }));
  runs.push(['baseline (node:http)', baseline]);
  out(table([
    ['', 'exchanges/s', 'batches/s', 'seconds', 'server CPU', 'client CPU', 'CPU µs/exch.', 'errors', 'records', 'dead letters', 'unmatched'],
    ...runs.map(([name, r]) => [
      name + (r.exhausted ? ' *' : ''), num(r.rate), num(r.rate / BATCH), r.seconds.toFixed(1), pct(r.serverCpu), pct(r.clientCpu),
      r.serverCpuPerExchangeUs === null ? 'n/a' : num(r.serverCpuPerExchangeUs), num(r.tally.errors), num(r.tally.records),
      num(r.tally.deadLetters), num(r.tally.unmatched),
    ]),
  ]));
  if (runs.some(([, r]) => r.exhausted)) out('    * ran out of distinct entries before the time was up');
  out('    server/client CPU: share of one core while measuring (below 100%: waiting, e.g. for fsync).');
  out(`    CPU µs/exch.: server CPU per exchange, including CDC changes reflex applies after its reorder window`);
  out(`    (drained for ${runs.slice(0, 2).map(([, r]) => r.drainSeconds.toFixed(1)).join(' s and ')} s after the load). records: events stored in the batch.`);
  out('    Each reflex run starts with an empty store, so its dedupe index is at its smallest.');
  for (const [name, r] of runs) reportErrors(name, r.tally);
  for (const [name, r] of runs.slice(0, 2)) {
    const ratio = r.rate / baseline.rate;
    verdicts.push(verdict(`(b) ${name} / baseline`, ratio >= TARGETS.httpRatio, `${ratio.toFixed(2)} (target >= ${TARGETS.httpRatio})`));
    out(`    ratio ${name}: ${ratio.toFixed(2)}  target >= ${TARGETS.httpRatio}  ${mark(verdicts.at(-1)!)}`);
  }
  return verdicts;
}

async function latencySection(warmup: Batch[], batches: Batch[]): Promise<Verdict[]> {
  const verdicts: Verdict[] = [];
  out(section('(c) Latency at a fixed offered rate, open loop'));
  const offered = LATENCY.batchesPerSecond * BATCH;
  out(`    ${LATENCY.batchesPerSecond} batches of ${BATCH} per second (${num(offered)} exchanges/s) for ${LATENCY.durationMs / 1000} s, each batch sent when due`);
  out(`    whatever is in flight; latency counted from when a batch was due (no coordinated omission)`);
  const latencyOptions = { path: INGEST_PATH, ...LATENCY, warmup, batches };
  const lat: Array<[string, LatencyResult]> = [];
  for (const sync of ['full', 'normal'] as const) {
    lat.push([`reflex (sync ${sync})`, await withServer(reflexServer(sync), (s) => measureLatency(s, latencyOptions))]);
  }
  lat.push(['baseline (node:http)', await withServer(baselineServer(), (s) => measureLatency(s, latencyOptions))]);
  out(table([
    ['', 'p50', 'p99', 'max', 'achieved/s', 'server CPU', 'errors'],
    ...lat.map(([name, r]) => [name, ms(r.p50), ms(r.p99), ms(r.max), num(r.achievedRate), pct(r.serverCpu), num(r.tally.errors)]),
  ]));
  for (const [name, r] of lat) reportErrors(name, r.tally);
  for (const [name, r] of lat.slice(0, 2)) {
    verdicts.push(verdict(`(c) ${name} p99`, r.p99 < TARGETS.p99Ms && r.tally.errors === 0, `${ms(r.p99)} (target < ${TARGETS.p99Ms} ms)`));
    out(`    p99 ${name}: ${ms(r.p99)}  target < ${TARGETS.p99Ms} ms  ${mark(verdicts.at(-1)!)}`);
  }
  return verdicts;
}

/**
 * Generates the input once. Only the HTTP batches (as Buffers, outside the JS heap) and the rule
 * engine's share are kept: 300 MB of live strings would slow the rule-engine loop's GC.
 */
function prepareInput() {
  const total = (WARMUP_BATCHES + MEASURED_BATCHES) * BATCH;
  const { texts, averageBytes, kinds } = generateKongLogs({ count: total, seed: SEED });
  out(`input: ${num(total)} Kong log entries from bench/generate.ts (seed ${SEED}), average ${num(averageBytes)} bytes each`);
  out(`  mix: ${Object.entries(kinds).map(([k, n]) => `${k} ${((n / total) * 100).toFixed(1)}%`).join(', ')}`);
  return {
    engineInput: texts.slice(WARMUP_BATCHES * BATCH, WARMUP_BATCHES * BATCH + ENGINE_ENTRIES),
    warmup: toBatches(texts.slice(0, WARMUP_BATCHES * BATCH), BATCH),
    batches: toBatches(texts.slice(WARMUP_BATCHES * BATCH), BATCH),
  };
}

function reflexServer(sync: 'full' | 'normal'): () => Promise<ServerChild> {
  return () => startServer('./reflex-server.ts', [SPEC, mkdtempSync(join(tmp, `reflex-${sync}-`)), sync]);
}

function baselineServer(): () => Promise<ServerChild> {
  return () => startServer('./baseline-server.ts', []);
}

async function withServer<T>(start: () => Promise<ServerChild>, body: (s: ServerChild) => Promise<T>): Promise<T> {
  const server = await start();
  try {
    return await body(server);
  } finally {
    await server.stop();
  }
}

function reportErrors(name: string, tally: Tally): void {
  if (tally.firstError) out(`    ${name}: first error: ${tally.firstError}`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`benchmark failed: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  },
);
