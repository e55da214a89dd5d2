import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';

/** A port the OS considers free right now on 127.0.0.1 (another process may still take it: callers retry). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (addr && typeof addr === 'object' ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** A process that exited but is not reaped yet (a zombie: PID 1 here reaps late) is not alive. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0] !== 'Z';
  } catch {
    return !existsSync('/proc/self'); // gone meanwhile; no /proc (macOS): trust kill(0)
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * SIGTERM (Kafka then shuts down cleanly), SIGKILL after `graceMs`; resolves once the process is gone.
 * `group` signals the whole process group, i.e. the process and its children (for detached leaders).
 */
export async function stopPid(pid: number, opts: { group?: boolean; graceMs?: number } = {}): Promise<void> {
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(opts.group ? -pid : pid, sig);
    } catch {
      /* already gone */
    }
  };
  signal('SIGTERM');
  const deadline = Date.now() + (opts.graceMs ?? 20_000);
  while (isAlive(pid) && Date.now() < deadline) await sleep(100);
  if (!isAlive(pid)) return;
  signal('SIGKILL');
  while (isAlive(pid)) await sleep(50);
}

/** The last `n` lines of a log file, for error messages. */
export function tail(path: string, n = 40): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-n).join('\n');
  } catch {
    return '(no log)';
  }
}

/**
 * Stops a server recorded by `npm run testbed`, by pid, and removes its run folder. Only a process
 * whose command line contains `marker` is signalled, so a recycled pid is left alone.
 */
export async function stopRecorded(entry: { pid: number; runDir: string }, marker: string, opts: { graceMs?: number } = {}): Promise<void> {
  if (isAlive(entry.pid) && commandLineHas(entry.pid, marker)) await stopPid(entry.pid, { group: true, ...opts });
  rmSync(entry.runDir, { recursive: true, force: true });
}

function commandLineHas(pid: number, marker: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker);
  } catch {
    return true; // no /proc (macOS): trust the state file
  }
}

/** Absolute path of `cmd` on PATH, or null. */
export function which(cmd: string): string | null {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  const path = r.status === 0 ? r.stdout.trim() : '';
  return path.startsWith('/') ? path : null;
}
