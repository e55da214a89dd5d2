/**
 * (l) How HTTP ingest grows with ingest worker threads (`ingest.workers` 0, 1, 2): the (b) load,
 * sync full, each count with a fresh store, beside the node:http baseline measured in the same run.
 */
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, type ServerChild } from './children.js';
import type { Batch } from './http-client.js';
import { drainCdc } from './reflex-drain.js';
import { num, pct, section, table } from './report.js';
import { measureThroughput, type ThroughputResult } from './throughput.js';

export interface WorkersSectionOptions {
  spec: string;
  tmp: string;
  path: string;
  out: (line?: string) => void;
  counts: number[];
  concurrency: number;
  durationMs: number;
  warmup: Batch[];
  batches: Batch[];
}

export async function workersSection(o: WorkersSectionOptions): Promise<void> {
  o.out(section('(l) HTTP ingest by ingest worker threads (ingest.workers), sync full'));
  o.out(`    the (b) load: ${o.concurrency} requests in flight for ${o.durationMs / 1000} s, each entry once, a fresh store per run; baseline as in (b), same run`);
  const measure = (s: ServerChild, cycle: boolean) => measureThroughput(s, {
    path: o.path, concurrency: o.concurrency, durationMs: o.durationMs, warmup: o.warmup, batches: o.batches, cycle, ...(cycle ? {} : { drain: drainCdc }),
  });
  const runs: Array<[number, ThroughputResult]> = [];
  for (const workers of o.counts) {
    const server = await startServer('./reflex-server.ts', [o.spec, mkdtempSync(join(o.tmp, `reflex-workers-${workers}-`)), 'full', '', String(workers)]);
    try {
      runs.push([workers, await measure(server, false)]);
    } finally {
      await server.stop();
    }
  }
  const baselineServer = await startServer('./baseline-server.ts', []);
  let baseline: ThroughputResult;
  try {
    baseline = await measure(baselineServer, true);
  } finally {
    await baselineServer.stop();
  }
  const first = runs[0]![1].rate;
  o.out(table([
    ['ingest.workers', 'exchanges/s', 'vs 0 workers', 'vs baseline', 'server CPU', 'CPU µs/exch.', 'errors'],
    ...runs.map(([workers, r]) => [
      String(workers), num(r.rate), `${(r.rate / first).toFixed(2)}×`, (r.rate / baseline.rate).toFixed(2), pct(r.serverCpu),
      r.serverCpuPerExchangeUs === null ? 'n/a' : num(r.serverCpuPerExchangeUs), num(r.tally.errors),
    ]),
    ['baseline (node:http)', num(baseline.rate), '', '1.00', pct(baseline.serverCpu), baseline.serverCpuPerExchangeUs === null ? 'n/a' : num(baseline.serverCpuPerExchangeUs), num(baseline.tally.errors)],
  ]));
  for (const [workers, r] of runs) if (r.tally.firstError) o.out(`    ${workers} workers: first error: ${r.tally.firstError}`);
  o.out('    server CPU counts every thread of the server process (share of one core); the client takes its share of the same 2 cores.');
}
