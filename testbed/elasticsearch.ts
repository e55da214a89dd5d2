import { spawn, spawnSync } from 'node:child_process';
import { closeSync, cpSync, existsSync, mkdirSync, mkdtempSync, openSync, realpathSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { testbedDir } from './paths.js';
import { freePort, isAlive, sleep, stopPid, stopRecorded, tail } from './proc.js';
import { readState } from './state.js';

/**
 * Elasticsearch's integ-test distribution from Maven Central: the real server with core APIs only
 * (no `GET /`, no ingest pipelines, no data streams module) and no bundled JDK. 8.19 runs on Java 17
 * and matches @elastic/elasticsearch 8.19.
 */
export const ELASTICSEARCH_VERSION = '8.19.7';

/** ES refuses to run as root: as root the server runs as this system user (created on first use). */
export const ES_SYSTEM_USER = 'estest';

export interface ElasticsearchOptions {
  version?: string;
  /** Folder for the download and run folders (default <repo>/.testbed). */
  dir?: string;
  /** Use the server `npm run testbed` started, if alive (default true). */
  reuse?: boolean;
  /** Keep the server running after this process exits (for `npm run testbed`). */
  detached?: boolean;
  startTimeoutMs?: number;
  /**
   * Security on (no TLS: a single node on loopback may run so) with no user set up: every request
   * answers 401. For tests of wrong credentials; never reused, never recorded.
   */
  security?: boolean;
}

export interface ElasticsearchTestbed {
  /** http://127.0.0.1:<port> */
  url: string;
  pid: number;
  version: string;
  /** Holds the server's config, data and logs; removed by stop(). */
  runDir: string;
  reused: boolean;
  log(): string;
  stop(): Promise<void>;
}

/** The unpacked distribution (`.testbed/elasticsearch/<version>/elasticsearch-<version>`), fetched with Maven on the first call. */
export function ensureElasticsearch(options: { version?: string; dir?: string } = {}): string {
  const version = options.version ?? ELASTICSEARCH_VERSION;
  const base = join(options.dir ?? testbedDir(), 'elasticsearch', version);
  const home = join(base, `elasticsearch-${version}`);
  if (existsSync(join(home, 'bin', 'elasticsearch'))) return home;
  mkdirSync(base, { recursive: true });
  process.stderr.write(`testbed: fetching Elasticsearch ${version} (integ-test zip, ~100 MB) with Maven into ${base} (first run only)\n`);
  const artifact = `org.elasticsearch.distribution.integ-test-zip:elasticsearch:${version}:zip`;
  run('mvn', ['-B', '-q', 'org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy', `-Dartifact=${artifact}`, `-DoutputDirectory=${base}`], 'is Maven installed and Maven Central reachable?');
  // Unpacked beside and renamed, so parallel callers never see half a distribution.
  const tmp = mkdtempSync(join(base, 'unzip-'));
  run('unzip', ['-q', '-o', join(base, `elasticsearch-${version}.zip`), '-d', tmp], 'is unzip installed?');
  try {
    renameSync(join(tmp, `elasticsearch-${version}`), home);
  } catch {
    /* another process won the race */
  }
  rmSync(tmp, { recursive: true, force: true });
  rmSync(join(base, `elasticsearch-${version}.zip`), { force: true });
  return home;
}

function run(cmd: string, args: string[], hint: string): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    const out = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n').slice(-30).join('\n');
    throw new Error(`testbed: ${cmd} failed (${r.error?.message ?? `exit ${r.status}`}); ${hint}\n${out}`);
  }
}

/** A JDK ≥ 17 for ES_JAVA_HOME: ES_JAVA_HOME itself, else the one `java` on PATH belongs to (ES ignores JAVA_HOME). */
function javaHome(): string {
  if (process.env.ES_JAVA_HOME) return process.env.ES_JAVA_HOME;
  const which = spawnSync('which', ['java'], { encoding: 'utf8' }).stdout.trim();
  if (!which) throw new Error('testbed: Elasticsearch needs Java 17 or later: install a JDK or set ES_JAVA_HOME');
  return dirname(dirname(realpathSync(which)));
}

/** As root: the system user to run ES as (created if missing), and the prefix that runs a command as it. */
function runAs(): { user: string | null; prefix: string[] } {
  if (process.getuid?.() !== 0) return { user: null, prefix: [] };
  if (spawnSync('id', [ES_SYSTEM_USER]).status !== 0) {
    run('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', ES_SYSTEM_USER],
      `Elasticsearch refuses to run as root, and the system user ${ES_SYSTEM_USER} could not be created`);
  }
  return { user: ES_SYSTEM_USER, prefix: ['runuser', '-u', ES_SYSTEM_USER, '--'] };
}

/** Resolves true once the cluster is yellow or green (GET / does not exist in this distribution). */
/** With security on and no user, a 401 is the answer of a started server. */
async function healthy(url: string, secured = false): Promise<boolean> {
  return fetch(`${url}/_cluster/health?wait_for_status=yellow&timeout=1s`, { signal: AbortSignal.timeout(5_000) })
    .then((r) => r.ok || (secured && r.status === 401), () => false);
}

/** Starts a single-node Elasticsearch on free loopback ports (downloading it on the first run), or reuses the recorded one. */
export async function startElasticsearch(options: ElasticsearchOptions = {}): Promise<ElasticsearchTestbed> {
  const version = options.version ?? ELASTICSEARCH_VERSION;
  const dir = options.dir ?? testbedDir();
  const running = readState(dir).elasticsearch;
  if ((options.reuse ?? true) && !options.security && running?.version === version && isAlive(running.pid) && (await healthy(running.url))) {
    return { ...running, reused: true, log: () => tail(join(running.runDir, 'logs', 'testbed.log')), stop: async () => {} };
  }
  const home = ensureElasticsearch({ version, dir });
  for (let attempt = 1; ; attempt++) {
    try {
      return await launch(home, version, dir, options);
    } catch (e) {
      if (attempt >= 3 || !/BindException|Address already in use/.test(String(e))) throw e;
    }
  }
}

async function launch(home: string, version: string, dir: string, options: ElasticsearchOptions): Promise<ElasticsearchTestbed> {
  const runs = join(dir, 'elasticsearch', 'runs');
  mkdirSync(runs, { recursive: true });
  const runDir = mkdtempSync(join(runs, 'es-'));
  // A private config folder: ES writes its keystore there; data and logs per run.
  cpSync(join(home, 'config'), join(runDir, 'config'), { recursive: true });
  for (const d of ['data', 'logs', 'tmp']) mkdirSync(join(runDir, d));
  const { user, prefix } = runAs();
  if (user) run('chown', ['-R', user, runDir], `cannot give ${runDir} to ${user}`);
  const [httpPort, transportPort] = [await freePort(), await freePort()];
  const logFile = join(runDir, 'logs', 'testbed.log');
  const out = openSync(logFile, 'a');
  const env = {
    ...process.env, ES_JAVA_HOME: javaHome(), ES_PATH_CONF: join(runDir, 'config'), ES_TMPDIR: join(runDir, 'tmp'),
    ES_JAVA_OPTS: '-Xms512m -Xmx512m',
  };
  const args = [
    join(home, 'bin', 'elasticsearch'),
    '-Ediscovery.type=single-node', '-Enetwork.host=127.0.0.1', `-Ehttp.port=${httpPort}`, `-Etransport.port=${transportPort}`,
    `-Expack.security.enabled=${options.security === true}`, '-Ecluster.routing.allocation.disk.threshold_enabled=false',
    // Expired points in time are reaped every second, not every minute: tests can expire one.
    '-Esearch.keep_alive_interval=1s',
    `-Epath.data=${join(runDir, 'data')}`, `-Epath.logs=${join(runDir, 'logs')}`,
  ];
  const [cmd, ...rest] = [...prefix, ...args];
  // Its own process group, so stop() reaches the launcher and the server JVM it forks.
  const child = spawn(cmd!, rest, { detached: true, stdio: ['ignore', out, out], env });
  closeSync(out);
  child.unref();
  const pid = child.pid!;
  const reap = () => {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  };
  if (!options.detached) process.once('exit', reap);
  const stop = async () => {
    process.off('exit', reap);
    if (isAlive(pid)) await stopPid(pid, { group: true, graceMs: 10_000 });
    rmSync(runDir, { recursive: true, force: true });
  };
  const url = `http://127.0.0.1:${httpPort}`;
  const timeout = options.startTimeoutMs ?? 180_000;
  const deadline = Date.now() + timeout;
  for (;;) {
    if (!isAlive(pid) || child.exitCode !== null) {
      const log = tail(logFile);
      await stop();
      throw new Error(`testbed: Elasticsearch ${version} exited before it was ready${user ? ` (run as system user ${user})` : ''}\n--- log (last lines) ---\n${log}`);
    }
    if (await healthy(url, options.security === true)) break;
    if (Date.now() > deadline) {
      const log = tail(logFile);
      await stop();
      throw new Error(`testbed: Elasticsearch ${version} did not answer on ${url} within ${timeout} ms\n--- log (last lines) ---\n${log}`);
    }
    await sleep(500);
  }
  return { url, pid, version, runDir, reused: false, log: () => tail(logFile), stop };
}

/** Stops an Elasticsearch recorded by `npm run testbed`, by pid, and removes its run folder. */
export function stopRecordedElasticsearch(entry: { pid: number; runDir: string }): Promise<void> {
  return stopRecorded(entry, 'elasticsearch', { graceMs: 10_000 });
}
