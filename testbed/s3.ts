import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { S3ClientConfig } from '@aws-sdk/client-s3';
import { testbedDir } from './paths.js';
import { PYTHONS, pipInstallOnce } from './pip.js';
import { freePort, isAlive, sleep, stopPid, stopRecorded, tail } from './proc.js';
import { readState } from './state.js';

/** moto's S3 server (PyPI `moto[server]`): real ListObjectsV2/GetObject/PutObject semantics, installs in seconds. */
export const MOTO_VERSION = '5.2.5';

/** What the emulator accepts; moto checks no credentials unless started with `INITIAL_NO_AUTH_ACTION_COUNT`. */
export const MOTO_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };
export const MOTO_REGION = 'us-east-1';

/**
 * S3Client settings for an emulator: path-style addressing, and checksums only where the API
 * requires them (SDK v3 ≥ 3.729 adds CRC32 trailers by default, which emulators handle unevenly).
 */
export function emulatorClientConfig(endpoint: string): S3ClientConfig {
  return {
    endpoint, region: MOTO_REGION, forcePathStyle: true, credentials: { ...MOTO_CREDENTIALS }, // a copy: the SDK marks the object it is given
    requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED',
  };
}

/** The `site` folder holding moto and its dependencies: pip-installs them into `.testbed/moto/<version>/site` on the first call. */
export function ensureMoto(options: { version?: string; dir?: string } = {}): Promise<string> {
  const version = options.version ?? MOTO_VERSION;
  return pipInstallOnce(join(options.dir ?? testbedDir(), 'moto', version), `moto[server]==${version}`, {
    installed: join('moto', 'server.py'), deps: true, what: `moto ${version}`,
  });
}

export interface MotoOptions {
  version?: string;
  /** Folder for the install and run folders (default <repo>/.testbed). */
  dir?: string;
  /** Use the server `npm run testbed` started, if alive (default true; never when `env` is given). */
  reuse?: boolean;
  /** Keep the server running after this process exits (for `npm run testbed`). */
  detached?: boolean;
  /** Extra environment, e.g. `INITIAL_NO_AUTH_ACTION_COUNT` to make moto check credentials after that many requests. */
  env?: Record<string, string>;
  startTimeoutMs?: number;
}

export interface MotoTestbed {
  /** http://127.0.0.1:<port> */
  endpoint: string;
  pid: number;
  version: string;
  /** Holds moto.log and moto's spill files for large objects; removed by stop(). */
  runDir: string;
  /** True when the server `npm run testbed` started was reused: stop() then leaves it running. */
  reused: boolean;
  log(): string;
  stop(): Promise<void>;
}

/** Resolves true once moto answers its own API (not an S3 action, so it counts nothing towards `INITIAL_NO_AUTH_ACTION_COUNT`). */
async function answers(endpoint: string): Promise<boolean> {
  return fetch(`${endpoint}/moto-api/data.json`, { signal: AbortSignal.timeout(2_000) }).then((r) => r.ok, () => false);
}

/** Starts moto's server on a free loopback port (installing it on the first run), or reuses the recorded one. */
export async function startMoto(options: MotoOptions = {}): Promise<MotoTestbed> {
  const version = options.version ?? MOTO_VERSION;
  const dir = options.dir ?? testbedDir();
  const running = readState(dir).s3;
  if ((options.reuse ?? true) && !options.env && running?.version === version && isAlive(running.pid) && (await answers(running.endpoint))) {
    return { ...running, reused: true, log: () => tail(join(running.runDir, 'moto.log')), stop: async () => {} };
  }
  const site = await ensureMoto({ version, dir });
  const python = PYTHONS.find((p) => spawnSync(p, ['--version']).status === 0) ?? 'python3';
  // Another process can take the port between freePort() and moto's bind: try fresh ports a few times.
  for (let attempt = 1; ; attempt++) {
    try {
      return await launch(python, site, version, dir, options);
    } catch (e) {
      if (attempt >= 3 || !/Address already in use/.test(String(e))) throw e;
    }
  }
}

async function launch(python: string, site: string, version: string, dir: string, options: MotoOptions): Promise<MotoTestbed> {
  mkdirSync(join(dir, 'moto', 'runs'), { recursive: true });
  const runDir = mkdtempSync(join(dir, 'moto', 'runs', 'moto-'));
  const port = await freePort();
  const logFile = join(runDir, 'moto.log');
  const out = openSync(logFile, 'a');
  // PYTHONPATH first: the pinned moto wins over any moto the system Python has.
  const env = { ...process.env, PYTHONPATH: site, TMPDIR: runDir, ...options.env };
  const child = spawn(python, ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], { detached: !!options.detached, stdio: ['ignore', out, out], env });
  closeSync(out);
  child.unref();
  const pid = child.pid!;
  // A server owned by this process must not outlive it, even if a test forgets stop().
  const reap = () => isAlive(pid) && process.kill(pid, 'SIGKILL');
  if (!options.detached) process.once('exit', reap);
  const stop = async () => {
    process.off('exit', reap);
    if (isAlive(pid)) await stopPid(pid, { group: options.detached, graceMs: 5_000 });
    rmSync(runDir, { recursive: true, force: true });
  };
  const endpoint = `http://127.0.0.1:${port}`;
  const timeout = options.startTimeoutMs ?? 60_000;
  const deadline = Date.now() + timeout;
  for (;;) {
    if (!isAlive(pid) || child.exitCode !== null) {
      const log = tail(logFile);
      await stop();
      throw new Error(`testbed: moto ${version} exited before it was ready\n--- moto log (last lines) ---\n${log}`);
    }
    if (await answers(endpoint)) break;
    if (Date.now() > deadline) {
      const log = tail(logFile);
      await stop();
      throw new Error(`testbed: moto ${version} did not answer on ${endpoint} within ${timeout} ms\n--- moto log (last lines) ---\n${log}`);
    }
    await sleep(100);
  }
  return { endpoint, pid, version, runDir, reused: false, log: () => tail(logFile), stop };
}

/** Stops a moto server recorded by `npm run testbed`, by pid, and removes its run folder. */
export function stopRecordedMoto(entry: { pid: number; runDir: string }): Promise<void> {
  return stopRecorded(entry, 'moto.server', { graceMs: 5_000 });
}
