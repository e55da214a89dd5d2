import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { aptInstall } from './apt.js';
import { testbedDir } from './paths.js';
import { freePort, isAlive, sleep, stopRecorded, tail } from './proc.js';
import { readState } from './state.js';

/** The major installed (Debian `postgresql-<major>`) when no server is found. */
export const POSTGRES_MAJOR = 15;

/** Debian puts each major's server binaries in <root>/<major>/bin, off PATH. */
export const DEBIAN_PG_ROOT = '/usr/lib/postgresql';

/** initdb and postgres refuse root: as root they run as this user (Debian's package creates it). */
export const PG_SYSTEM_USER = 'postgres';

export interface PostgresOptions {
  /** Folder for run folders and state.json (default <repo>/.testbed). */
  dir?: string;
  /** Use the server `npm run testbed` started, if alive (default true). */
  reuse?: boolean;
  /** Keep the server running after this process exits (for `npm run testbed`). */
  detached?: boolean;
  /** How long pg_ctl waits for the server to accept connections (default 60 s). */
  startTimeoutMs?: number;
}

export interface PostgresTestbed {
  /** postgres://postgres@127.0.0.1:<port>/postgres (trust auth, superuser `postgres`). */
  url: string;
  port: number;
  /** The postmaster's pid (a new one after restart()). */
  pid: number;
  /** e.g. '15.18' */
  version: string;
  /** Holds data/, server.log and the server's Unix socket; removed by stop(). */
  runDir: string;
  /** True when the server `npm run testbed` started was reused: stop() then leaves it running. */
  reused: boolean;
  log(): string;
  /** Stops the server and removes the run folder (no-op for a reused one). */
  stop(): Promise<void>;
  /** Stops the server like a crash (pg_ctl -m immediate), keeping its data; throws for a reused server. */
  halt(): Promise<void>;
  /** Starts a halted server again on the same port and data folder (crash recovery runs). */
  restart(): Promise<void>;
  /** Creates a fresh database and returns its URL (tests isolate themselves this way). */
  createDatabase(name?: string): Promise<string>;
}

/** The bin folder of the highest major ≥ 13 under `root` that has initdb, or null. */
export function findPostgresBin(root = DEBIAN_PG_ROOT): string | null {
  let majors: number[];
  try {
    majors = readdirSync(root).filter((d) => /^\d+$/.test(d)).map(Number).filter((m) => m >= 13);
  } catch {
    return null;
  }
  const best = majors.sort((a, b) => b - a).find((m) => existsSync(join(root, String(m), 'bin', 'initdb')));
  return best === undefined ? null : join(root, String(best), 'bin');
}

const isRoot = () => process.getuid?.() === 0;

/**
 * A fresh CI machine may have only the client: install Debian's server package.
 * Debian's postinst also creates and starts a cluster on 5432; the testbed never uses it.
 */
function installServer(): void {
  aptInstall([`postgresql-${POSTGRES_MAJOR}`], `install it yourself (Debian/Ubuntu: apt-get install postgresql-${POSTGRES_MAJOR})`);
  if (!findPostgresBin()) throw new Error(`testbed: installed postgresql-${POSTGRES_MAJOR}, but there is no ${DEBIAN_PG_ROOT}/<major ≥ 13>/bin/initdb`);
}

/** The server's bin folder, installing the package on the first run of a fresh machine. */
export function ensurePostgres(): string {
  const found = findPostgresBin();
  if (found) return found;
  installServer();
  return findPostgresBin()!;
}

const execFileAsync = promisify(execFile);

/** Runs a server tool as the system user when root (initdb refuses root), directly otherwise; stdout+stderr on failure. */
async function pgTool(bin: string, tool: string, args: string[], cwd: string): Promise<void> {
  const cmd = isRoot() ? ['runuser', '-u', PG_SYSTEM_USER, '--', join(bin, tool), ...args] : [join(bin, tool), ...args];
  try {
    // cwd: a folder the system user can enter (it may not be allowed into the caller's).
    await execFileAsync(cmd[0]!, cmd.slice(1), { cwd, encoding: 'utf8' });
  } catch (e) {
    const err = e as { message: string; stdout?: string; stderr?: string };
    throw new Error(`${tool} failed: ${`${err.stdout ?? ''}${err.stderr ?? ''}`.trim() || err.message}`);
  }
}

/** The server's version (e.g. '15.18') once it answers a query at `url`, else null. */
async function answers(url: string, timeoutMs = 2_000): Promise<string | null> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  client.on('error', () => {}); // a server dying mid-check must not crash the caller
  try {
    await client.connect();
    const { rows } = await client.query<{ server_version: string }>('show server_version');
    return rows[0]!.server_version.split(' ')[0]!; // '15.18 (Debian 15.18-0+deb12u1)'
  } catch {
    return null;
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * The folder run folders go in: `<dir>/postgres/runs`, which the system user must be able to enter
 * when root. If it cannot (a repo under a private home), a folder made for the purpose under the OS
 * temp folder instead.
 */
function runsFolder(dir: string): string {
  const runs = join(dir, 'postgres', 'runs');
  mkdirSync(runs, { recursive: true });
  if (!isRoot() || spawnSync('runuser', ['-u', PG_SYSTEM_USER, '--', 'test', '-x', runs]).status === 0) return runs;
  const tmp = join(tmpdir(), 'reflex-testbed-postgres');
  mkdirSync(tmp, { recursive: true, mode: 0o755 });
  return tmp;
}

/** Starts a throwaway PostgreSQL cluster on a free loopback port (installing the server if missing), or reuses the recorded one. */
export async function startPostgres(options: PostgresOptions = {}): Promise<PostgresTestbed> {
  const dir = options.dir ?? testbedDir();
  const running = readState(dir).postgres;
  if ((options.reuse ?? true) && running && isAlive(running.pid) && (await answers(running.url))) {
    const unsupported = async () => {
      throw new Error('testbed: a reused PostgreSQL (npm run testbed) cannot be halted or restarted; run the test without it');
    };
    return {
      ...running, reused: true, log: () => tail(join(running.runDir, 'server.log')),
      stop: async () => {}, halt: unsupported, restart: unsupported, createDatabase: (name) => createDatabase(running.url, name),
    };
  }
  const bin = ensurePostgres();
  if (isRoot() && spawnSync('id', [PG_SYSTEM_USER]).status !== 0) {
    throw new Error(`testbed: PostgreSQL refuses to run as root and there is no user ${PG_SYSTEM_USER} (Debian's postgresql package creates it)`);
  }
  const runDir = mkdtempSync(join(runsFolder(dir), 'pg-'));
  const data = join(runDir, 'data');
  const logFile = join(runDir, 'server.log');
  const fail = (msg: string) => {
    const log = tail(logFile);
    rmSync(runDir, { recursive: true, force: true });
    return new Error(`testbed: PostgreSQL (${bin}) ${msg}\n--- server log (last lines) ---\n${log}`);
  };
  try {
    if (isRoot()) spawnSync('chown', [`${PG_SYSTEM_USER}:`, runDir]);
    await pgTool(bin, 'initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync'], runDir);
  } catch (e) {
    throw fail((e as Error).message);
  }
  // Another process can take the port between freePort() and the server's bind: try fresh ports a few times.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      return await launch(bin, runDir, port, options);
    } catch (e) {
      if (attempt < 3 && /could not bind|Address already in use|could not create any TCP\/IP sockets/.test(tail(logFile))) continue;
      throw fail((e as Error).message);
    }
  }
}

/** Starts the cluster in `runDir` on `port` and wraps it; throws (leaving runDir) if it does not start. */
async function launch(bin: string, runDir: string, port: number, options: PostgresOptions): Promise<PostgresTestbed> {
  const data = join(runDir, 'data');
  const logFile = join(runDir, 'server.log');
  const timeoutS = Math.ceil((options.startTimeoutMs ?? 60_000) / 1000);
  // A throwaway cluster: no fsync, no full-page writes. Crash tests still hold: they halt the server,
  // not the OS, and what the server wrote is in the OS's cache. synchronous_commit stays on: off, a
  // commit is acknowledged before its WAL leaves the server's memory, and halt() loses it.
  const serverOptions = `-c listen_addresses=127.0.0.1 -p ${port} -k ${runDir} -c fsync=off -c full_page_writes=off`;
  const pgCtl = (args: string[]) => pgTool(bin, 'pg_ctl', ['-D', data, ...args], runDir);
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  let pid = 0;
  let version = '';
  const start = async () => {
    try {
      // -w: pg_ctl returns once the server accepts connections (or failed); the postmaster runs in its own session.
      await pgCtl(['-l', logFile, '-w', '-t', String(timeoutS), '-o', serverOptions, 'start']);
      pid = postmasterPid(data) ?? 0;
      const answered = await answers(url, 5_000);
      if (!answered) throw new Error(`started but did not answer a query on ${url}`);
      version = answered;
    } catch (e) {
      // pg_ctl gives up after -t but leaves a slow server running: never leave one behind.
      const left = postmasterPid(data);
      if (left && isAlive(left)) await killAndWait(left);
      throw e;
    }
  };
  const halt = async () => {
    await pgCtl(['-m', 'immediate', '-w', 'stop']);
  };
  // A server owned by this process must not outlive it, even if a test forgets stop(): synchronous, as 'exit' requires.
  const reap = () => {
    if (!isAlive(pid)) {
      rmSync(runDir, { recursive: true, force: true });
      return;
    }
    const cmd = isRoot() ? ['runuser', '-u', PG_SYSTEM_USER, '--', join(bin, 'pg_ctl')] : [join(bin, 'pg_ctl')];
    const r = spawnSync(cmd[0]!, [...cmd.slice(1), '-D', data, '-m', 'immediate', '-w', 'stop'], { cwd: runDir });
    if (r.status !== 0 && isAlive(pid)) process.kill(pid, 'SIGKILL');
    rmSync(runDir, { recursive: true, force: true });
  };
  await start();
  if (!options.detached) process.once('exit', reap);
  const stop = async () => {
    process.off('exit', reap);
    if (isAlive(pid)) await pgCtl(['-m', 'fast', '-w', 'stop']).catch(() => killAndWait(pid));
    rmSync(runDir, { recursive: true, force: true });
  };
  return {
    url, port, runDir, reused: false, log: () => tail(logFile), stop, halt,
    restart: async () => {
      try {
        await start();
      } catch (e) {
        throw new Error(`testbed: PostgreSQL did not restart on port ${port}: ${(e as Error).message}\n--- server log (last lines) ---\n${tail(logFile)}`);
      }
    },
    createDatabase: (name) => createDatabase(url, name),
    get pid() {
      return pid;
    },
    get version() {
      return version;
    },
  };
}

/** The postmaster's pid from its lock file, or null when no server runs on `data`. */
function postmasterPid(data: string): number | null {
  try {
    return Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]) || null;
  } catch {
    return null;
  }
}

async function killAndWait(pid: number): Promise<void> {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* gone */
  }
  while (isAlive(pid)) await sleep(50);
}

/** Creates database `name` (default: a random one) on the server at `url`; returns its URL. */
async function createDatabase(url: string, name = `test_${randomBytes(6).toString('hex')}`): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`create database ${client.escapeIdentifier(name)}`);
  } finally {
    await client.end();
  }
  const dbUrl = new URL(url);
  dbUrl.pathname = `/${encodeURIComponent(name)}`;
  return dbUrl.toString();
}

/**
 * Stops a PostgreSQL recorded by `npm run testbed` and removes its run folder: a fast shutdown when the
 * folder's lock file names the recorded pid, then (a stuck server) signals by pid, only to a process
 * whose command line names the run folder, so a recycled pid is left alone.
 */
export async function stopRecordedPostgres(entry: { pid: number; runDir: string }): Promise<void> {
  const data = join(entry.runDir, 'data');
  const bin = findPostgresBin();
  if (bin && isAlive(entry.pid) && postmasterPid(data) === entry.pid) {
    await pgTool(bin, 'pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop'], entry.runDir).catch(() => {});
  }
  // A stopped postmaster may linger as a zombie, which stopRecorded would wait on until PID 1 reaps it.
  if (isAlive(entry.pid)) await stopRecorded(entry, entry.runDir, { graceMs: 5_000 });
  else rmSync(entry.runDir, { recursive: true, force: true });
}
