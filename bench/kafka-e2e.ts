/**
 * (e) Kong logs in over HTTP, records out on Kafka. Two phases against one reflex child with a
 * Kafka sink: all batches as fast as reflex takes them (closed loop), then a paced phase below
 * capacity (open loop). Each batch's send time is kept by its entries' request ids; the messages are
 * read back afterwards, and an event's latency is its broker append time minus its batch's send time.
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
  /** Sent open loop at `pacedPerSecond` batches a second. */
  paced: Batch[];
  pacedPerSecond: number;
  /** CPU seconds of the broker so far (null without /proc). */
  brokerCpu: () => number | null;
}

export interface PhaseResult {
  entries: number;
  tally: Tally;
  messages: { events: number; changes: number; tombstones: number; total: number };
  /** First POST sent to the last message appended by the broker. */
  seconds: number;
  /** First POST sent to the last answer. */
  ingestSeconds: number;
  /** Ingest-to-append latency of each event message, ms (broker clock minus this process's clock, one host). */
  latency: { p50: number; p99: number; max: number; samples: number };
  reflexCpu: number | null;
  brokerCpu: number | null;
}

export interface E2eResult {
  load: PhaseResult;
  paced: PhaseResult;
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
    const ids = new Map([...o.load, ...o.paced].map((b) => [b, requestIds(b)]));
    const sentAt = new Map<string, number>();
    const stamp = (b: Batch, at: number) => {
      for (const id of ids.get(b)!) sentAt.set(id, at);
    };
    const load = await runPhase(server, o, async (tally) => {
      await closedLoop(o.concurrency, o.load, (b) => {
        stamp(b, Date.now());
        return postBatch(pool, o.path, b, tally);
      });
    });
    const marks1 = await watermarks(admin, await benchTopics(admin, PREFIX));
    const paced = await runPhase(server, o, (tally) => openLoop(o.pacedPerSecond, o.paced, (b, due) => {
      stamp(b, due); // from when it was due: a late send counts against reflex, as in (c)
      return postBatch(pool, o.path, b, tally);
    }));
    const topics = await benchTopics(admin, PREFIX);
    const marks2 = await watermarks(admin, topics);

    const all = await readAll(client, topics, marks2);
    const loadMessages = all.filter((m) => between(m, marks0, marks1));
    return {
      load: summarize(load, loadMessages, sentAt),
      paced: summarize(paced, all.filter((m) => between(m, marks1, marks2)), sentAt),
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

function summarize(raw: RawPhase, messages: ReadMessage[], sentAt: Map<string, number>): PhaseResult {
  const counts = { events: 0, changes: 0, tombstones: 0, total: messages.length };
  const latencies: number[] = [];
  let lastAppend = raw.firstSent;
  for (const m of messages) {
    lastAppend = Math.max(lastAppend, m.timestamp);
    if (!m.topic.endsWith('.changelog')) {
      counts.events++;
      const sent = sentAt.get(m.headers.ce_reflexrequestid?.toString() ?? '');
      if (sent !== undefined) latencies.push(m.timestamp - sent);
    } else if (m.value === null) counts.tombstones++;
    else counts.changes++;
  }
  latencies.sort((a, b) => a - b);
  return {
    entries: raw.entries,
    tally: raw.tally,
    messages: counts,
    seconds: (lastAppend - raw.firstSent) / 1000,
    ingestSeconds: (raw.lastAnswer - raw.firstSent) / 1000,
    latency: { p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), max: latencies.at(-1) ?? NaN, samples: latencies.length },
    reflexCpu: raw.reflexCpu,
    brokerCpu: raw.brokerCpu,
  };
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
