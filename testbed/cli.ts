// `npm run testbed` starts the test servers detached and records them in .testbed/state.json;
// `npm run testbed -- stop` stops them. Tests calling startKafka() reuse a broker recorded here.
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
}

async function stop(): Promise<void> {
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
