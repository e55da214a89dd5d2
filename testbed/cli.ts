// `npm run testbed` starts the test servers detached and records them in .testbed/state.json;
// `npm run testbed -- stop` stops them. Tests calling startKafka() reuse a broker recorded here.
// Envoy runs plugins/envoy/envoy.yaml as shipped: :10000 → an API on 127.0.0.1:8080, access logs to
// reflex's envoy-als source on 127.0.0.1:9001.
import { pluginConfig, startEnvoy, stopRecordedEnvoy } from './envoy.js';
import { startKafka, stopRecordedKafka } from './kafka.js';
import { testbedDir } from './paths.js';
import { isAlive } from './proc.js';
import { readState, writeServerState } from './state.js';

const dir = testbedDir();
const command = process.argv[2] ?? 'start';

async function start(): Promise<void> {
  const old = readState(dir).kafka;
  if (old && !isAlive(old.pid)) await stopRecordedKafka(old); // stale entry: clean its folder, start anew
  const kafka = await startKafka({ detached: true, reuse: true, dir });
  if (!kafka.reused) {
    const { brokers, pid, version, runDir } = kafka;
    writeServerState(dir, 'kafka', { brokers, pid, version, runDir, startedAt: new Date().toISOString() });
  }
  console.log(`kafka: ${kafka.brokers.join(',')}  (Kafka ${kafka.version}, pid ${kafka.pid}${kafka.reused ? ', already running' : ''})`);
  await startEnvoyServer();
}

async function startEnvoyServer(): Promise<void> {
  const old = readState(dir).envoy;
  if (old && isAlive(old.pid)) return console.log(`envoy: ${old.listener}  (Envoy ${old.version}, pid ${old.pid}, already running)`);
  if (old) await stopRecordedEnvoy(old);
  const [listenerPort, upstream, als] = [10000, { host: '127.0.0.1', port: 8080 }, { host: '127.0.0.1', port: 9001 }];
  const envoy = await startEnvoy({ config: pluginConfig({ listenerPort, upstream, als }), detached: true, dir });
  const entry = {
    pid: envoy.pid, version: envoy.version, runDir: envoy.runDir, startedAt: new Date().toISOString(),
    listener: `http://127.0.0.1:${listenerPort}`, admin: envoy.adminUrl, upstream: `${upstream.host}:${upstream.port}`, als: `${als.host}:${als.port}`,
  };
  writeServerState(dir, 'envoy', entry);
  console.log(`envoy: ${entry.listener} → API ${entry.upstream}, access logs → envoy-als ${entry.als}  (Envoy ${envoy.version}, pid ${envoy.pid}, admin ${envoy.adminUrl})`);
}

async function stop(): Promise<void> {
  const envoy = readState(dir).envoy;
  if (envoy) {
    await stopRecordedEnvoy(envoy);
    writeServerState(dir, 'envoy', undefined);
    console.log(`envoy: stopped (pid ${envoy.pid})`);
  } else console.log('envoy: not running');
  const old = readState(dir).kafka;
  if (!old) return console.log('kafka: not running');
  await stopRecordedKafka(old);
  writeServerState(dir, 'kafka', undefined);
  console.log(`kafka: stopped (pid ${old.pid})`);
}

const commands: Record<string, () => Promise<void>> = { start, stop };
const run = commands[command];
if (!run) {
  console.error(`usage: npm run testbed [-- start|stop]`);
  process.exit(2);
}
run().then(
  () => process.exit(0), // don't wait for kafkajs sockets; the broker itself is detached
  (e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  },
);
