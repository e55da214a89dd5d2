/**
 * (b) Closed-loop HTTP ingest throughput: `concurrency` requests always in flight, each batch sent
 * once (re-sending would only measure reflex's duplicate check), until the time or the batches run out.
 */
import { performance } from 'node:perf_hooks';
import { createPool, emptyTally, postBatch, type Batch, type Tally } from './http-client.js';
import type { ServerChild } from './children.js';

export interface ThroughputOptions {
  path: string;
  concurrency: number;
  durationMs: number;
  /** Sent before the clock starts (JIT, connections, SQLite page cache). */
  warmup: Batch[];
  batches: Batch[];
  /** When true the batches are sent round and round until the time is up (the baseline has no dedupe). */
  cycle: boolean;
  /** Waits until work the server deferred (reflex's CDC reorder window) is done, so its CPU is counted. */
  drain?: (server: ServerChild) => Promise<void>;
}

export interface ThroughputResult {
  rate: number;
  seconds: number;
  tally: Tally;
  /** Share of one core the server and this client used while measuring. */
  serverCpu: number | null;
  clientCpu: number;
  /** Server CPU time per exchange, including deferred work finished while draining. */
  serverCpuPerExchangeUs: number | null;
  drainSeconds: number;
  /** True when the batches ran out before the time did. */
  exhausted: boolean;
}

export async function measureThroughput(server: ServerChild, options: ThroughputOptions): Promise<ThroughputResult> {
  const pool = createPool(server.url, options.concurrency);
  try {
    const warm = emptyTally();
    await runWorkers(options.concurrency, options.warmup.length, Infinity, (i) => postBatch(pool, options.path, options.warmup[i]!, warm));
    if (warm.errors > 0) throw new Error(`warm-up failed: ${warm.firstError}`);

    const tally = emptyTally();
    const limit = options.cycle ? Infinity : options.batches.length;
    const serverCpu0 = server.cpuSeconds();
    const clientCpu0 = process.cpuUsage();
    const start = performance.now();
    const sent = await runWorkers(options.concurrency, limit, start + options.durationMs, (i) =>
      postBatch(pool, options.path, options.batches[i % options.batches.length]!, tally));
    const seconds = (performance.now() - start) / 1000;
    const serverCpu1 = server.cpuSeconds();
    const clientCpu = process.cpuUsage(clientCpu0);
    const drainStart = performance.now();
    if (options.drain) await options.drain(server);
    const drainSeconds = (performance.now() - drainStart) / 1000;
    const serverCpu2 = server.cpuSeconds();
    return {
      rate: tally.entries / seconds,
      seconds,
      tally,
      serverCpu: serverCpu0 !== null && serverCpu1 !== null ? (serverCpu1 - serverCpu0) / seconds : null,
      clientCpu: (clientCpu.user + clientCpu.system) / 1e6 / seconds,
      serverCpuPerExchangeUs: serverCpu0 !== null && serverCpu2 !== null && tally.entries > 0 ? ((serverCpu2 - serverCpu0) / tally.entries) * 1e6 : null,
      drainSeconds,
      exhausted: sent >= limit,
    };
  } finally {
    await pool.close();
  }
}

/** `workers` loops each taking the next index until `limit` or the deadline; returns how many were sent. */
async function runWorkers(workers: number, limit: number, deadline: number, send: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  const loop = async () => {
    while (next < limit && performance.now() < deadline) await send(next++);
  };
  await Promise.all(Array.from({ length: workers }, loop));
  return next;
}
