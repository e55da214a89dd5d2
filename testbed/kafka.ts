import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { KAFKA_VERSION, LOG4J2_PROPERTIES, kafkaPom, serverProperties } from './kafka-config.js';
import { fetchJars } from './maven.js';
import { testbedDir } from './paths.js';
import { freePort, isAlive, sleep, stopPid, stopRecorded, tail } from './proc.js';
import { readState } from './state.js';

export { KAFKA_VERSION };

export interface KafkaOptions {
  /** A Kafka 4.x release on Maven Central (default KAFKA_VERSION). */
  version?: string;
  /** JVM max heap (default 512m; Kafka's own scripts use 1G). */
  heap?: string;
  /** How long to wait for the broker to answer (default 90 s). */
  startTimeoutMs?: number;
  /** Use the broker `npm run testbed` started, if alive (default true). */
  reuse?: boolean;
  /** Keep the broker running after this process exits (for `npm run testbed`). */
  detached?: boolean;
  /** Folder for jars, data and state (default <repo>/.testbed). */
  dir?: string;
}

export interface KafkaTestbed {
  brokers: string[];
  version: string;
  pid: number;
  /** Holds server.properties, data/ and broker.log; removed by stop(). */
  runDir: string;
  /** True when an already running testbed broker was reused: stop() then leaves it to its owner. */
  reused: boolean;
  stop(): Promise<void>;
  /** Stops the broker but keeps its data and ports, for tests of a broker outage. */
  pause(): Promise<void>;
  /** Starts the paused broker again on the same port with the same data; resolves when it answers. */
  resume(): Promise<void>;
}

/** Resolves once a kafkajs admin client can list topics; false if it cannot within `ms`. */
async function answers(brokers: string[], ms: number): Promise<boolean> {
  const admin = new Kafka({ brokers, logLevel: logLevel.NOTHING, connectionTimeout: Math.min(ms, 2_000), retry: { retries: 0 } }).admin();
  try {
    await admin.connect();
    await admin.listTopics();
    return true;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/** Fetches (first run only), formats and starts a single-node KRaft broker on free loopback ports. */
export async function startKafka(options: KafkaOptions = {}): Promise<KafkaTestbed> {
  const version = options.version ?? KAFKA_VERSION;
  const dir = options.dir ?? testbedDir();
  const running = readState(dir).kafka;
  if ((options.reuse ?? true) && running?.version === version && isAlive(running.pid) && (await answers(running.brokers, 5_000))) {
    const unsupported = async () => {
      throw new Error('testbed: a reused broker (npm run testbed) cannot be paused; run the test without it');
    };
    return { ...running, reused: true, stop: async () => {}, pause: unsupported, resume: unsupported };
  }
  const home = join(dir, 'kafka', version);
  const libs = fetchJars(home, kafkaPom(version));
  const log4j = join(home, 'log4j2.properties');
  writeFileSync(log4j, LOG4J2_PROPERTIES);
  const jvm = [`-Xms128m`, `-Xmx${options.heap ?? '512m'}`, '-Djava.awt.headless=true', `-Dlog4j2.configurationFile=${log4j}`, '-cp', join(libs, '*')];
  // Another process can grab a port between freePort() and the broker's bind: try fresh ports a few times.
  for (let attempt = 1; ; attempt++) {
    try {
      return await launch(version, dir, jvm, options);
    } catch (e) {
      if (attempt >= 3 || !/Address already in use/.test(String(e))) throw e;
    }
  }
}

async function launch(version: string, dir: string, jvm: string[], options: KafkaOptions): Promise<KafkaTestbed> {
  mkdirSync(join(dir, 'kafka', 'runs'), { recursive: true });
  const runDir = mkdtempSync(join(dir, 'kafka', 'runs', 'broker-'));
  const [port, controllerPort] = [await freePort(), await freePort()];
  const props = join(runDir, 'server.properties');
  writeFileSync(props, serverProperties({ port, controllerPort, dataDir: join(runDir, 'data') }));
  const logFile = join(runDir, 'broker.log');
  const brokers = [`127.0.0.1:${port}`];
  const fail = (msg: string) => {
    const log = tail(logFile);
    rmSync(runDir, { recursive: true, force: true });
    return new Error(`testbed: Kafka ${version} ${msg}\n--- broker log (last lines) ---\n${log}`);
  };

  // Kafka's cluster id: 16 random bytes, base64url without padding (what `StorageTool random-uuid` prints).
  // Like Kafka's Uuid, never one starting with '-': the tool's argument parser takes it for an option (1 start in 64 failed).
  let clusterId = randomBytes(16).toString('base64url');
  while (clusterId.startsWith('-')) clusterId = randomBytes(16).toString('base64url');
  const fmt = spawnSync('java', [...jvm, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', props], { encoding: 'utf8' });
  if (fmt.error || fmt.status !== 0) {
    writeFileSync(logFile, `${fmt.stdout ?? ''}${fmt.stderr ?? ''}`);
    throw fail(`storage format failed (${fmt.error?.message ?? `exit ${fmt.status}`}; Kafka 4 needs Java 17+ on PATH)`);
  }

  let pid = 0;
  // A broker owned by this process must not outlive it, even if a test forgets stop().
  const reap = () => pid > 0 && isAlive(pid) && process.kill(pid, 'SIGKILL');
  const boot = async (): Promise<void> => {
    const out = openSync(logFile, 'a');
    const child = spawn('java', [...jvm, 'kafka.Kafka', props], { detached: !!options.detached, stdio: ['ignore', out, out] });
    closeSync(out);
    child.unref();
    pid = child.pid!;
    const deadline = Date.now() + (options.startTimeoutMs ?? 90_000);
    for (;;) {
      if (!isAlive(pid)) throw fail(`exited before it was ready`);
      if (await answers(brokers, 2_000)) break;
      if (Date.now() > deadline) {
        await stopPid(pid, { group: options.detached, graceMs: 2_000 });
        throw fail(`did not answer on ${brokers[0]} within ${options.startTimeoutMs ?? 90_000} ms`);
      }
      await sleep(250);
    }
  };
  if (!options.detached) process.once('exit', reap);
  await boot();

  const stop = async () => {
    process.off('exit', reap);
    if (isAlive(pid)) await stopPid(pid, { group: options.detached });
    rmSync(runDir, { recursive: true, force: true });
  };
  const pause = async () => {
    await stopPid(pid, { group: options.detached });
  };
  return {
    brokers, version, runDir, reused: false, stop, pause, resume: boot,
    get pid() {
      return pid;
    },
  };
}

/** Stops a Kafka recorded by `npm run testbed`, by pid, and removes its run folder. */
export function stopRecordedKafka(entry: { pid: number; runDir: string }): Promise<void> {
  return stopRecorded(entry, 'kafka.Kafka');
}
