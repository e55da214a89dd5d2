/**
 * Server processes for the HTTP benchmarks. Each server runs in its own process so that it never
 * shares an event loop (or a core, when there are two) with the load generator. Every child is
 * tracked and killed on exit, including when the benchmark throws or is interrupted.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export { ROOT } from './root.js';
import { ROOT } from './root.js';

export interface ServerChild {
  url: string;
  pid: number;
  /** CPU seconds (user + system) the child has used so far; null where /proc is missing. */
  cpuSeconds(): number | null;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();

/** Kills every child still running; safe to call more than once, and from an 'exit' handler. */
export function killAll(): void {
  for (const child of running) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  running.clear();
}

/**
 * Starts `bench/<script>` (compiled, when this file is, else under tsx) and waits for its
 * `{"url": ...}` line on stdout. The child also exits when its stdin closes, so it cannot outlive
 * this process even if this one is SIGKILLed.
 */
export async function startServer(script: string, args: string[]): Promise<ServerChild> {
  const compiled = import.meta.url.endsWith('.js');
  const file = fileURLToPath(new URL(compiled ? script.replace(/\.ts$/, '.js') : script, import.meta.url));
  // REFLEX_BENCH_CPU_PROF=<folder>: every thread of the child (ingest workers, the Kafka producer thread
  // too) writes a .cpuprofile there when it exits; REFLEX_BENCH_PROFILE profiles the main thread only.
  const cpuProf = process.env.REFLEX_BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.REFLEX_BENCH_CPU_PROF}`, '--cpu-prof-interval=200'] : [];
  const child = spawn(process.execPath, [...cpuProf, ...(compiled ? [] : ['--import', 'tsx']), file, ...args], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  running.add(child);
  let output = '';
  const keep = (d: Buffer) => {
    output = (output + d.toString()).slice(-8000);
  };
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => {
    running.delete(child);
    resolve();
  }));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} did not start within 60 s:\n${output}`)), 60_000);
    let line = '';
    child.stdout!.on('data', (d: Buffer) => {
      keep(d);
      line += d.toString();
      const m = /\{"url":"([^"]+)"\}/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`${script} exited before listening:\n${output}`));
    });
  });
  const pid = child.pid!;
  return {
    url,
    pid,
    cpuSeconds: () => procCpuSeconds(pid),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timeout = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timeout);
    },
  };
}

/** utime + stime from /proc/<pid>/stat, in seconds (Linux; clock ticks are 100 Hz there). */
export function procCpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}
