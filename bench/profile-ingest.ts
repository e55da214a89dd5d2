/**
 * The HTTP ingest of bench (b) under a CPU profiler, to see where the server's time goes:
 *   npx tsc -p bench/tsconfig.build.json && node dist/bench/profile-ingest.js [full|normal] [seconds] [workers]
 * The reflex child writes a .cpuprofile of its main thread to /tmp/reflex-prof (REFLEX_BENCH_PROFILE);
 * open it in Chrome DevTools (Performance tab) or VS Code, or summarize it with bench/profile-summary.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, startServer } from './children.js';
import { generateKongLogs } from './generate.js';
import { toBatches } from './http-client.js';
import { drainCdc } from './reflex-drain.js';
import { measureThroughput } from './throughput.js';

const sync = process.argv[2] === 'normal' ? 'normal' : 'full';
const seconds = Number(process.argv[3] ?? 5);
const workers = process.argv[4] ?? '';
const dir = mkdtempSync(join(tmpdir(), 'reflex-profile-'));
const { texts } = generateKongLogs({ count: 100_000, seed: 42 });
const batches = toBatches(texts, 100);
process.env.REFLEX_BENCH_PROFILE ??= '/tmp/reflex-prof';
const server = await startServer('./reflex-server.ts', [join(ROOT, 'examples/shop/openapi.yaml'), dir, sync, '', workers]);
try {
  const r = await measureThroughput(server, {
    path: '/ingest/kong', concurrency: 8, durationMs: seconds * 1000, warmup: batches.slice(0, 30), batches: batches.slice(30), cycle: false, drain: drainCdc,
  });
  console.log(`${Math.round(r.rate)} exchanges/s, server CPU ${Math.round((r.serverCpu ?? 0) * 100)}%, ${Math.round(r.serverCpuPerExchangeUs ?? 0)} µs/exchange; profile in /tmp/reflex-prof`);
} finally {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
