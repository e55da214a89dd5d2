/**
 * (e) Kong logs in over HTTP, events out on Kafka, end to end: a real broker (testbed/kafka.ts), reflex
 * in a child process with a Kafka sink, and the kafkajs producer alone as the baseline; then the
 * job the issue compares with Bento: 100k Kong logs until the last record is on Kafka, events only
 * and with CDC, at reflex's default sync full.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startKafka } from '../testbed/kafka.js';
import { procCpuSeconds, startServer } from './children.js';
import type { Batch } from './http-client.js';
import { produceBaseline } from './kafka-baseline.js';
import { measureKafkaEndToEnd, type E2eOptions, type PhaseResult } from './kafka-e2e.js';
import { messageBytes } from './kafka-topics.js';
import { mark, ms, num, pct, section, table, verdict, type Verdict } from './report.js';

/** The load shape is the end-to-end measurement's own; the section adds where and how to run it. */
export interface KafkaSectionOptions extends Pick<E2eOptions, 'path' | 'concurrency' | 'warmup' | 'load' | 'paced'> {
  spec: string;
  /** The Bento comparison: these batches until the last record is on Kafka (issue 16: ≤ 3.9 s). */
  job: Batch[];
  jobTargetSeconds: number;
  /** Target for the sink's p99 from reflex's answer to the broker's append in the fastest paced phase. */
  sinceAckTargetMs: number;
  tmp: string;
  /** reflex's dispatcher batch (records per send), which the baseline copies. */
  sinkBatch: number;
  out: (line?: string) => void;
}

export async function kafkaSection(o: KafkaSectionOptions): Promise<Verdict[]> {
  const { out } = o;
  const verdicts: Verdict[] = [];
  const entries = (bs: Batch[]) => bs.reduce((n, b) => n + b.entries, 0);
  out(section('(e) Kong logs in over HTTP, events out on Kafka, end to end'));
  out(`    reflex in a child process (sync normal, reorder window 0) with a Kafka sink to bench.{stream} topics (3 partitions,`);
  out(`    idempotent producer, acks=all, gzip), one Kafka broker on this machine (testbed/kafka.ts, own JVM)`);
  out(`    full load: ${num(entries(o.load))} entries, POST ${o.path} in batches of ${o.load[0]?.entries ?? 0}, ${o.concurrency} in flight, after ${o.warmup.length} warm-up batches`);
  for (const p of o.paced) out(`    ${p.name}: ${num(entries(p.batches))} more entries at ${p.perSecond} batches/s (${num(p.perSecond * (p.batches[0]?.entries ?? 0))} entries/s), open loop`);
  out(`    baseline: kafkajs alone in the bench process producing the full-load messages again (same bytes, batches of up to ${o.sinkBatch} per topic,`);
  out(`    one send at a time, idempotent, acks=all, gzip) to a fresh topic with 3 partitions (as issue 16 measured it)`);

  const startedAt = performance.now();
  const kafka = await startKafka({ reuse: false });
  // startKafka kills its broker on exit; its data folder would stay behind without this.
  const removeRunDir = () => rmSync(kafka.runDir, { recursive: true, force: true });
  process.once('exit', removeRunDir);
  const brokerCpu = () => procCpuSeconds(kafka.pid);
  const run = async (spec: string, sync: 'full' | 'normal', shape: Pick<E2eOptions, 'load' | 'paced'>) => {
    const server = await startServer('./reflex-server.ts', [spec, mkdtempSync(join(o.tmp, 'reflex-kafka-')), sync, kafka.brokers.join(',')]);
    try {
      return await measureKafkaEndToEnd(server, { ...o, ...shape, brokers: kafka.brokers, brokerCpu });
    } finally {
      await server.stop();
    }
  };
  try {
    out(`    broker: Kafka ${kafka.version}, started in ${num((performance.now() - startedAt) / 1000, 1)} s`);
    const result = await run(o.spec, 'normal', o);
    const base = await produceBaseline(kafka.brokers, result.loadMessages, o.sinkBatch, brokerCpu);
    const bytes = result.loadMessages.reduce((n, m) => n + messageBytes(m), 0) / Math.max(1, result.loadMessages.length);

    out(`    read back after the run with a kafkajs consumer from all ${result.topics.length} bench.* topics (${result.topics.join(', ')});`);
    out(`    message.timestamp.type of the topics: ${result.timestampType}, so a message's timestamp is the broker's append time`);
    out(`    (with one replica, acks=all is answered right after the append);`);
    out(`    average message ${num(bytes)} bytes (key + value + headers, before gzip)`);
    const row = (r: PhaseResult) => [
      `reflex, ${r.name}`, num(r.entries), num(r.messages.total), num(r.messages.events), r.seconds.toFixed(1), num(r.messages.total / r.seconds), num(r.messages.events / r.seconds),
      ms(r.latency.p50), ms(r.latency.p99), ms(r.sinceAck.p50), ms(r.sinceAck.p99), ms(r.sinceAck.max), pct(r.reflexCpu), pct(r.brokerCpu), num(r.tally.errors),
    ];
    out(table([
      ['', 'entries', 'messages', 'events', 'seconds', 'messages/s', 'events/s', 'p50 sent', 'p99 sent', 'p50 acked', 'p99 acked', 'max acked', 'reflex CPU', 'broker CPU', 'errors'],
      row(result.load),
      ...result.paced.map(row),
      ['baseline (kafkajs)', '', num(base.messages), '', base.seconds.toFixed(1), num(base.rate), '', '', '', '', '', '', `${pct(base.clientCpu)} *`, pct(base.brokerCpu), ''],
    ]));
    for (const r of [result.load, ...result.paced]) {
      out(`    ${r.name}: ${num(r.messages.events)} events, ${num(r.messages.changes)} change records, ${num(r.messages.tombstones)} tombstones; all answered after ${r.ingestSeconds.toFixed(1)} s` +
        (r.tally.firstError ? `; first error: ${r.tally.firstError}` : ''));
    }
    out(`    messages: all records on the bench.* topics (events, change records, tombstones), counted from the partitions' end offsets.`);
    out(`    seconds: from the first POST sent to the last message's broker append time (GET /sinks polled until the backlog was 0).`);
    out(`    sent: per event, broker append time minus the time its batch was sent (paced: when it was due), so it includes ingest's queue;`);
    out(`    acked: broker append time minus when reflex answered its batch: the sink's lag behind what reflex acknowledged.`);
    out(`    reflex/broker CPU: share of one core until delivered. * baseline row: the bench process's CPU (kafkajs), not reflex's.`);
    const ratio = result.load.messages.total / result.load.seconds / base.rate;
    verdicts.push(verdict('(e) Kafka end to end / kafkajs alone', ratio >= 0.7, `${ratio.toFixed(2)} (target >= 0.7)`));
    out(`    ratio reflex full load / baseline, messages/s: ${ratio.toFixed(2)}  target >= 0.7  ${mark(verdicts.at(-1)!)}`);
    const fastest = result.paced[o.paced.reduce((best, p, i) => (p.perSecond > o.paced[best]!.perSecond ? i : best), 0)];
    if (fastest) {
      const ok = fastest.sinceAck.p99 < o.sinceAckTargetMs && fastest.tally.errors === 0;
      verdicts.push(verdict(`(e) sink lag p99 from answer to append, ${fastest.name}`, ok, `${ms(fastest.sinceAck.p99)} (target < ${o.sinceAckTargetMs} ms)`));
      out(`    p99 answer-to-append, ${fastest.name}: ${ms(fastest.sinceAck.p99)}  target < ${o.sinceAckTargetMs} ms  ${mark(verdicts.at(-1)!)}`);
    }

    out();
    out(`    ${num(entries(o.job))} Kong logs over HTTP (batches of ${o.job[0]?.entries ?? 0}, ${o.concurrency} in flight) until the last record is on Kafka,`);
    out(`    reflex as shipped (sync full), reorder window 0, fresh store and topics' offsets each; Bento took 3.9-4.2 s for this job, events only (issue 16)`);
    const eventsOnly = join(mkdtempSync(join(o.tmp, 'spec-events-only-')), 'openapi.yaml');
    writeFileSync(eventsOnly, readFileSync(o.spec, 'utf8').replace(/cdc: true/g, 'cdc: false'));
    const jobRows = [['', 'entries', 'messages', 'last event', 'last record', 'all answered', 'p99 acked', 'reflex CPU', 'errors']];
    for (const [name, spec] of [['events only', eventsOnly], ['with CDC', o.spec]] as const) {
      const r = (await run(spec, 'full', { load: o.job, paced: [] })).load;
      jobRows.push([name, num(r.entries), num(r.messages.total), `${r.eventSeconds.toFixed(2)} s`, `${r.seconds.toFixed(2)} s`, `${r.ingestSeconds.toFixed(2)} s`, ms(r.sinceAck.p99), pct(r.reflexCpu), num(r.tally.errors)]);
      verdicts.push(verdict(`(e) ${num(entries(o.job))} Kong logs to Kafka, ${name}`, r.seconds <= o.jobTargetSeconds && r.tally.errors === 0, `${r.seconds.toFixed(2)} s (target <= ${o.jobTargetSeconds} s)`));
    }
    out(table(jobRows));
    out(`    last event / last record: from the first POST to the broker's append of the last event / of the last message of any kind.`);
  } finally {
    await kafka.stop();
    process.off('exit', removeRunDir);
  }
  return verdicts;
}
