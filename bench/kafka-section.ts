/**
 * (e) Kong logs in over HTTP, events out on Kafka, end to end: a real broker (testbed/kafka.ts), reflex
 * in a child process with a Kafka sink, and the kafkajs producer alone as the baseline. No target:
 * the figures inform.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startKafka } from '../testbed/kafka.js';
import { procCpuSeconds, startServer } from './children.js';
import type { Batch } from './http-client.js';
import { produceBaseline } from './kafka-baseline.js';
import { measureKafkaEndToEnd, type E2eOptions, type PhaseResult } from './kafka-e2e.js';
import { messageBytes } from './kafka-topics.js';
import { ms, num, pct, section, table } from './report.js';

/** The load shape is the end-to-end measurement's own; the section adds where and how to run it. */
export interface KafkaSectionOptions extends Pick<E2eOptions, 'path' | 'concurrency' | 'warmup' | 'load' | 'paced' | 'pacedPerSecond'> {
  spec: string;
  tmp: string;
  /** reflex's dispatcher batch (records per send), which the baseline copies. */
  sinkBatch: number;
  out: (line?: string) => void;
}

export async function kafkaSection(o: KafkaSectionOptions): Promise<void> {
  const { out } = o;
  const entries = (bs: Batch[]) => bs.reduce((n, b) => n + b.entries, 0);
  out(section('(e) Kong logs in over HTTP, events out on Kafka, end to end'));
  out(`    reflex in a child process (sync normal, reorder window 0) with a Kafka sink to bench.{stream} topics (3 partitions,`);
  out(`    idempotent producer, acks=all, gzip), one Kafka broker on this machine (testbed/kafka.ts, own JVM)`);
  out(`    full load: ${num(entries(o.load))} entries, POST ${o.path} in batches of ${o.load[0]?.entries ?? 0}, ${o.concurrency} in flight, after ${o.warmup.length} warm-up batches`);
  out(`    paced: ${num(entries(o.paced))} more entries at ${o.pacedPerSecond} batches/s (${num(o.pacedPerSecond * (o.paced[0]?.entries ?? 0))} entries/s), open loop`);
  out(`    baseline: kafkajs alone in the bench process producing the full-load messages again (same bytes, batches of up to ${o.sinkBatch} per topic,`);
  out(`    one send at a time like reflex's dispatcher, idempotent, acks=all, gzip) to a fresh topic with 3 partitions`);

  const startedAt = performance.now();
  const kafka = await startKafka({ reuse: false });
  // startKafka kills its broker on exit; its data folder would stay behind without this.
  const removeRunDir = () => rmSync(kafka.runDir, { recursive: true, force: true });
  process.once('exit', removeRunDir);
  const brokerCpu = () => procCpuSeconds(kafka.pid);
  try {
    out(`    broker: Kafka ${kafka.version}, started in ${num((performance.now() - startedAt) / 1000, 1)} s`);
    const server = await startServer('./reflex-server.ts', [o.spec, mkdtempSync(join(o.tmp, 'reflex-kafka-')), 'normal', kafka.brokers.join(',')]);
    let result;
    try {
      result = await measureKafkaEndToEnd(server, { ...o, brokers: kafka.brokers, brokerCpu });
    } finally {
      await server.stop();
    }
    const base = await produceBaseline(kafka.brokers, result.loadMessages, o.sinkBatch, brokerCpu);
    const bytes = result.loadMessages.reduce((n, m) => n + messageBytes(m), 0) / Math.max(1, result.loadMessages.length);

    out(`    read back after the run with a kafkajs consumer from all ${result.topics.length} bench.* topics (${result.topics.join(', ')});`);
    out(`    message.timestamp.type of the topics: ${result.timestampType}, so a message's timestamp is the broker's append time`);
    out(`    (with one replica, acks=all is answered right after the append);`);
    out(`    average message ${num(bytes)} bytes (key + value + headers, before gzip)`);
    const row = (name: string, r: PhaseResult) => [
      name, num(r.entries), num(r.messages.total), num(r.messages.events), r.seconds.toFixed(1), num(r.messages.total / r.seconds), num(r.messages.events / r.seconds),
      ms(r.latency.p50), ms(r.latency.p99), ms(r.latency.max), pct(r.reflexCpu), pct(r.brokerCpu), num(r.tally.errors),
    ];
    out(table([
      ['', 'entries', 'messages', 'events', 'seconds', 'messages/s', 'events/s', 'p50', 'p99', 'max', 'reflex CPU', 'broker CPU', 'errors'],
      row('reflex, full load', result.load),
      row('reflex, paced', result.paced),
      ['baseline (kafkajs)', '', num(base.messages), '', base.seconds.toFixed(1), num(base.rate), '', '', '', '', `${pct(base.clientCpu)} *`, pct(base.brokerCpu), ''],
    ]));
    for (const [name, r] of [['full load', result.load], ['paced', result.paced]] as const) {
      out(`    ${name}: ${num(r.messages.events)} events, ${num(r.messages.changes)} change records, ${num(r.messages.tombstones)} tombstones; all answered after ${r.ingestSeconds.toFixed(1)} s` +
        (r.tally.firstError ? `; first error: ${r.tally.firstError}` : ''));
    }
    out(`    messages: all records on the bench.* topics (events, change records, tombstones), counted from the partitions' end offsets.`);
    out(`    seconds: from the first POST sent to the last message's broker append time (GET /sinks polled until the backlog was 0).`);
    out(`    p50/p99/max: per event (${num(result.load.latency.samples)} and ${num(result.paced.latency.samples)} events), broker append time minus the time its batch`);
    out(`    was sent (paced: when it was due); at full load reflex takes entries faster than it delivers them, so this includes the sink's backlog.`);
    out(`    reflex/broker CPU: share of one core until delivered. * baseline row: the bench process's CPU (kafkajs), not reflex's.`);
    out(`    ratio reflex full load / baseline, messages/s: ${(result.load.messages.total / result.load.seconds / base.rate).toFixed(2)} (no target)`);
  } finally {
    await kafka.stop();
    process.off('exit', removeRunDir);
  }
}
