/**
 * (c) Latency at a fixed offered rate, open loop: batch i is due at start + i / rate whether or not
 * earlier ones have been answered, and its latency is counted from when it was due, not from when it
 * was sent. A stalled server therefore shows up in the percentiles instead of slowing the sender
 * down (coordinated omission).
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { createPool, emptyTally, postBatch, type Batch, type Tally } from './http-client.js';
import type { ServerChild } from './children.js';

export interface LatencyOptions {
  path: string;
  batchesPerSecond: number;
  durationMs: number;
  /** Enough that a slow answer never holds back the next due batch. */
  connections: number;
  warmup: Batch[];
  batches: Batch[];
}

export interface LatencyResult {
  offeredRate: number;
  achievedRate: number;
  p50: number;
  p99: number;
  max: number;
  tally: Tally;
  serverCpu: number | null;
}

export async function measureLatency(server: ServerChild, options: LatencyOptions): Promise<LatencyResult> {
  const pool = createPool(server.url, options.connections);
  try {
    const warm = emptyTally();
    for (const b of options.warmup) await postBatch(pool, options.path, b, warm);
    if (warm.errors > 0) throw new Error(`warm-up failed: ${warm.firstError}`);

    const count = Math.round((options.batchesPerSecond * options.durationMs) / 1000);
    if (count > options.batches.length) throw new Error(`latency run needs ${count} batches, has ${options.batches.length}`);
    const interval = 1000 / options.batchesPerSecond;
    const tally = emptyTally();
    const latencies: number[] = [];
    const inFlight: Array<Promise<void>> = [];
    const cpu0 = server.cpuSeconds();
    const start = performance.now();
    for (let i = 0; i < count; i++) {
      const due = start + i * interval;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      inFlight.push(postBatch(pool, options.path, options.batches[i]!, tally).then(() => {
        latencies.push(performance.now() - due);
      }));
    }
    await Promise.all(inFlight);
    const seconds = (performance.now() - start) / 1000;
    const cpu1 = server.cpuSeconds();
    latencies.sort((a, b) => a - b);
    const entries = options.batches.slice(0, count).reduce((n, b) => n + b.entries, 0);
    return {
      offeredRate: entries / (options.durationMs / 1000),
      achievedRate: tally.entries / seconds,
      p50: percentile(latencies, 0.5),
      p99: percentile(latencies, 0.99),
      max: latencies[latencies.length - 1] ?? NaN,
      tally,
      serverCpu: cpu0 !== null && cpu1 !== null ? (cpu1 - cpu0) / seconds : null,
    };
  } finally {
    await pool.close();
  }
}

/** Nearest-rank percentile of a sorted array. */
export function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}
