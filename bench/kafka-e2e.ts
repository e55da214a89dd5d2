/**
 * (e) Kong logs in over HTTP, records out on Kafka. Phases against one reflex child with a Kafka
 * sink: all batches as fast as reflex takes them (closed loop), then paced phases (open loop). Each
 * batch's send and answer times are kept by its entries' request ids; the messages are read back
 * afterwards, and an event's latency is its broker append time minus its batch's send time (what the
 * gateway waits for), and minus its batch's answer (the sink's lag behind ingest).
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import type { ServerChild } from './children.js';
import { createPool, emptyTally, postBatch, type Batch, type Tally } from './http-client.js';
import { between, benchClient, benchTopics, readAll, timestampType, watermarks, type ReadMessage } from './kafka-topics.js';
import { percentile } from './latency.js';

export interface E2eOptions {
  brokers: string[];
  path: string;
  concurrency: number;
  warmup: Batch[];
  /** Sent as fast as reflex answers, `concurrency` in flight. */
  load: Batch[];
  /** Phases sent open loop, each at its `perSecond` batches a second, one after the other. */
  paced: PacedPhase[];
  /** CPU seconds of the broker so far (null without /proc). */
  brokerCpu: () => number | null;
}

export interface PacedPhase {
  name: string;
  batches: Batch[];
  perSecond: number;
}

export interface Percentiles {
  p50: number;
  p99: number;
  max: number;
  samples: number;
}

export interface PhaseResult {
  name: string;
  entries: number;
  tally: Tally;
  messages: { events: number; changes: number; tombstones: number; total: number };
  /** First POST sent to the last message appended by the broker. */
  seconds: number;
  /** First POST sent to the last event (not change record) appended by the broker. */
  eventSeconds: number;
  /** First POST sent to the last answer. */
  ingestSeconds: number;
  /** Ingest-to-append latency of each event message, ms (broker clock minus this process's clock, one host). */
  latency: Percentiles;
  /** Answer-to-append latency of each event message, ms: how far the sink is behind what reflex acknowledged. */
  sinceAck: Percentiles;
  reflexCpu: number | null;
  brokerCpu: number | null;
}

export interface E2eResult {
  load: PhaseResult;
  paced: PhaseResult[];
  topics: string[];
  timestampType: string;
  /** The load phase's messages as reflex wrote them, for the producer baseline. */
  loadMessages: ReadMessage[];
}

const PREFIX = 'bench.';

export async function measureKafkaEndToEnd(server: ServerChild, o: E2eOptions): Promise<E2eResult> {
  const pool = createPool(server.url, Math.max(o.concurrency, 32));
  const client = benchClient(o.brokers, 'bench-e2e');
  const admin = client.admin();
  await admin.connect();
  try {
    // The warm-up also makes reflex create its topics, so creating them is not measured.
    const warm = emptyTally();
    await closedLoop(o.concurrency, o.warmup, (b) => postBatch(pool, o.path, b, warm));
    if (warm.errors > 0) throw new Error(`warm-up failed: ${warm.firstError}`);
    await delivered(server);
    const marks0 = await watermarks(admin, await benchTopics(admin, PREFIX));

    // Parsed before the clock starts, so the client spends its CPU on sending.
    const ids = new Map([...o.load, ...o.paced.flatMap((p) => p.batches)].map((b) => [b, requestIds(b)]));
    const sentAt = new Map<string, number>();
    const ackAt = new Map<string, number>();
    const stamp = (times: Map<string, number>, b: Batch, at: number) => {
      for (const id of ids.get(b)!) times.set(id, at);
    };
    const post = (b: Batch, sent: number, tally: Tally) => {
      stamp(sentAt, b, sent);
      return postBatch(pool, o.path, b, tally).then(() => stamp(ackAt, b, Date.now()));
    };
    const load = await runPhase(server, o, async (tally) => {
      await closedLoop(o.concurrency, o.load, (b) => post(b, Date.now(), tally));
    });
    const marks = [marks0, await watermarks(admin, await benchTopics(admin, PREFIX))];
    const paced: RawPhase[] = [];
    for (const phase of o.paced) {
      // From when it was due: a late send counts against reflex, as in (c).
      paced.push(await runPhase(server, o, (tally) => openLoop(phase.perSecond, phase.batches, (b, due) => post(b, due, tally))));
      marks.push(await watermarks(admin, await benchTopics(admin, PREFIX)));
    }
    const topics = await benchTopics(admin, PREFIX);
    const all = await readAll(client, topics, marks.at(-1)!);
    const ofPhase = (i: number) => all.filter((m) => between(m, marks[i]!, marks[i + 1]!));
    const loadMessages = ofPhase(0);
    return {
      load: summarize('full load', load, loadMessages, sentAt, ackAt),
      paced: paced.map((raw, i) => summarize(o.paced[i]!.name, raw, ofPhase(i + 1), sentAt, ackAt)),
      topics,
      timestampType: await timestampType(admin, topics[0]!),
      loadMessages,
    };
  } finally {
    await admin.disconnect().catch(() => undefined);
    await pool.close();
  }
}

interface RawPhase {
  tally: Tally;
  entries: number;
  firstSent: number;
  lastAnswer: number;
  reflexCpu: number | null;
  brokerCpu: number | null;
}

/** Runs `send`, waits until the sink has delivered everything, and takes the CPU both servers used meanwhile. */
async function runPhase(server: ServerChild, o: E2eOptions, send: (tally: Tally) => Promise<void>): Promise<RawPhase> {
  const tally = emptyTally();
  const [reflex0, broker0] = [server.cpuSeconds(), o.brokerCpu()];
  const firstSent = Date.now();
  const t0 = performance.now();
  await send(tally);
  const lastAnswer = Date.now();
  await delivered(server);
  const seconds = (performance.now() - t0) / 1000;
  const [reflex1, broker1] = [server.cpuSeconds(), o.brokerCpu()];
  const share = (a: number | null, b: number | null) => (a !== null && b !== null ? (b - a) / seconds : null);
  return { tally, entries: tally.entries, firstSent, lastAnswer, reflexCpu: share(reflex0, reflex1), brokerCpu: share(broker0, broker1) };
}

function summarize(name: string, raw: RawPhase, messages: ReadMessage[], sentAt: Map<string, number>, ackAt: Map<string, number>): PhaseResult {
  const counts = { events: 0, changes: 0, tombstones: 0, total: messages.length };
  const latencies: number[] = [];
  const sinceAck: number[] = [];
  let lastAppend = raw.firstSent;
  let lastEvent = raw.firstSent;
  for (const m of messages) {
    lastAppend = Math.max(lastAppend, m.timestamp);
    if (!m.topic.endsWith('.changelog')) {
      counts.events++;
      lastEvent = Math.max(lastEvent, m.timestamp);
      const id = m.headers.ce_reflexrequestid?.toString() ?? '';
      const sent = sentAt.get(id);
      if (sent !== undefined) latencies.push(m.timestamp - sent);
      const acked = ackAt.get(id);
      if (acked !== undefined) sinceAck.push(m.timestamp - acked);
    } else if (m.value === null) counts.tombstones++;
    else counts.changes++;
  }
  return {
    name,
    entries: raw.entries,
    tally: raw.tally,
    messages: counts,
    seconds: (lastAppend - raw.firstSent) / 1000,
    eventSeconds: (lastEvent - raw.firstSent) / 1000,
    ingestSeconds: (raw.lastAnswer - raw.firstSent) / 1000,
    latency: percentiles(latencies),
    sinceAck: percentiles(sinceAck),
    reflexCpu: raw.reflexCpu,
    brokerCpu: raw.brokerCpu,
  };
}

function percentiles(values: number[]): Percentiles {
  values.sort((a, b) => a - b);
  return { p50: percentile(values, 0.5), p99: percentile(values, 0.99), max: values.at(-1) ?? NaN, samples: values.length };
}

/** The Kong request ids of a batch's entries (unique per entry; events carry them as ce_reflexrequestid). */
function requestIds(batch: Batch): string[] {
  const entries = JSON.parse(batch.body.toString()) as Array<{ request?: { id?: string } }>;
  return entries.flatMap((e) => (e.request?.id ? [e.request.id] : []));
}

async function closedLoop(workers: number, batches: Batch[], send: (b: Batch) => Promise<void>): Promise<void> {
  let next = 0;
  const loop = async () => {
    while (next < batches.length) await send(batches[next++]!);
  };
  await Promise.all(Array.from({ length: workers }, loop));
}

/** Batch i is due at start + i / rate, whatever is still in flight; `due` is wall-clock ms. */
async function openLoop(perSecond: number, batches: Batch[], send: (b: Batch, due: number) => Promise<void>): Promise<void> {
  const interval = 1000 / perSecond;
  const [wall, start] = [Date.now(), performance.now()];
  const inFlight: Array<Promise<void>> = [];
  for (let i = 0; i < batches.length; i++) {
    const wait = start + i * interval - performance.now();
    if (wait > 0) await sleep(wait);
    inFlight.push(send(batches[i]!, wall + i * interval));
  }
  await Promise.all(inFlight);
}

/** Polls GET /sinks until every sink's backlog is 0. */
async function delivered(server: ServerChild, timeoutMs = 120_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const res = await request(`${server.url}/sinks`);
    const sinks = (await res.body.json()) as Array<{ backlog: number }>;
    const backlog = sinks.reduce((n, s) => n + s.backlog, 0);
    if (backlog === 0) return;
    if (performance.now() > deadline) throw new Error(`the Kafka sink is still ${backlog} records behind after ${timeoutMs / 1000} s`);
    await sleep(50);
  }
}
