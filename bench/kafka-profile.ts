/**
 * Section (e)'s Bento job (100k Kong logs over HTTP, batches of 100, 8 in flight, until the last
 * record is on Kafka) against one reflex child run with `node --cpu-prof`, which profiles every
 * thread of it: main, ingest workers, the Kafka producer thread. To see where the time goes:
 *   npx tsc -p bench/tsconfig.build.json && node dist/bench/kafka-profile.js [cdc|events] [workers] [profile dir]
 * Without a profile dir it only measures. Summarize a profile with bench/profile-summary.ts.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startKafka } from '../testbed/kafka.js';
import { procCpuSeconds, ROOT, type ServerChild } from './children.js';
import { generateKongLogs } from './generate.js';
import { toBatches } from './http-client.js';
import { measureKafkaEndToEnd } from './kafka-e2e.js';

const [kind = 'cdc', workers = '', profileDir = ''] = process.argv.slice(2);
const tmp = mkdtempSync(join(tmpdir(), 'reflex-kafka-profile-'));
let spec = join(ROOT, 'examples/shop/openapi.yaml');
if (kind === 'events') {
  spec = join(tmp, 'openapi.yaml');
  writeFileSync(spec, readFileSync(join(ROOT, 'examples/shop/openapi.yaml'), 'utf8').replace(/cdc: true/g, 'cdc: false'));
}
const { texts } = generateKongLogs({ count: 103_000, seed: 42 });
const batches = toBatches(texts, 100);
const kafka = await startKafka({ reuse: false });
try {
  const server = await spawnServer([spec, join(tmp, 'data'), 'full', kafka.brokers.join(','), workers]);
  try {
    const before = threadCpu(server.pid);
    const r = await measureKafkaEndToEnd(server, {
      brokers: kafka.brokers, path: '/ingest/kong', concurrency: 8, warmup: batches.slice(0, 30), load: batches.slice(30, 1030), paced: [], brokerCpu: () => procCpuSeconds(kafka.pid),
    });
    const l = r.load;
    console.log(`${kind}, workers ${workers || 'default'}: last event ${l.eventSeconds.toFixed(2)} s, last record ${l.seconds.toFixed(2)} s, all answered ${l.ingestSeconds.toFixed(2)} s, ` +
      `${l.messages.total} messages, p99 acked ${Math.round(l.sinceAck.p99)} ms, reflex CPU ${Math.round((l.reflexCpu ?? 0) * 100)}%, errors ${l.tally.errors}`);
    // Per thread, warm-up and read-back included: which thread the microseconds per entry are spent on.
    const after = threadCpu(server.pid);
    const rows = [...after].map(([tid, t]) => ({ ...t, tid, s: t.s - (before.get(tid)?.s ?? 0) })).filter((t) => t.s >= 0.05).sort((a, b) => b.s - a.s);
    for (const t of rows) console.log(`  thread ${t.tid} ${t.name.padEnd(16)} ${t.s.toFixed(2)} s CPU, ${Math.round((t.s / l.entries) * 1e6)} µs/entry`);
    const sum = rows.reduce((n, t) => n + t.s, 0);
    console.log(`  all threads ${sum.toFixed(2)} s CPU, ${Math.round((sum / l.entries) * 1e6)} µs/entry`);
  } finally {
    await server.stop();
  }
} finally {
  await kafka.stop();
  rmSync(tmp, { recursive: true, force: true });
  rmSync(kafka.runDir, { recursive: true, force: true });
}

/** CPU seconds (user + system) of each thread of a process, by thread id (Linux /proc). */
function threadCpu(pid: number): Map<string, { name: string; s: number }> {
  const out = new Map<string, { name: string; s: number }>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(tid, { name, s: (Number(f[11]) + Number(f[12])) / 100 });
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

/** As children.ts's startServer, with --cpu-prof when a profile folder is given. */
async function spawnServer(args: string[]): Promise<ServerChild> {
  const file = fileURLToPath(new URL('./reflex-server.js', import.meta.url));
  const flags = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  const child = spawn(process.execPath, [...flags, file, ...args], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    let line = '';
    child.stdout.on('data', (d: Buffer) => {
      line += d.toString();
      const m = /\{"url":"([^"]+)"\}/.exec(line);
      if (m) resolve(m[1]!);
    });
    void exited.then(() => reject(new Error('reflex-server exited before listening')));
  });
  return {
    url,
    pid: child.pid!,
    cpuSeconds: () => procCpuSeconds(child.pid!),
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
