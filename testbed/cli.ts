// `npm run testbed` starts the test servers detached and records them in .testbed/state.json;
// `npm run testbed -- stop` stops them. Name servers to start or stop only those:
// `npm run testbed -- kafka s3`, `npm run testbed -- stop envoy`. Tests calling startKafka(),
// startMoto(), startElasticsearch() or startPostgres() reuse a server recorded here.
// Envoy runs plugins/envoy/envoy.yaml as shipped: :10000 → an API on 127.0.0.1:8080, access logs to
// reflex's envoy-als source on 127.0.0.1:9001.
// PostgreSQL is a throwaway cluster (trust auth, superuser postgres, no fsync) from Debian's server
// package, installed with apt-get on the first run if missing; it never uses port 5432.
import { pluginConfig, startEnvoy, stopRecordedEnvoy } from './envoy.js';
import { startElasticsearch, stopRecordedElasticsearch } from './elasticsearch.js';
import { startKafka, stopRecordedKafka } from './kafka.js';
import { testbedDir } from './paths.js';
import { isAlive } from './proc.js';
import { startPostgres, stopRecordedPostgres } from './postgres.js';
import { startMoto, stopRecordedMoto } from './s3.js';
import { readState, writeServerState } from './state.js';

const dir = testbedDir();

async function startKafkaServer(): Promise<void> {
  const old = readState(dir).kafka;
  if (old && !isAlive(old.pid)) await stopRecordedKafka(old); // stale entry: clean its folder, start anew
  const kafka = await startKafka({ detached: true, reuse: true, dir });
  if (!kafka.reused) {
    const { brokers, pid, version, runDir } = kafka;
    writeServerState(dir, 'kafka', { brokers, pid, version, runDir, startedAt: new Date().toISOString() });
  }
  console.log(`kafka: ${kafka.brokers.join(',')}  (Kafka ${kafka.version}, pid ${kafka.pid}${kafka.reused ? ', already running' : ''})`);
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

async function startS3Server(): Promise<void> {
  const old = readState(dir).s3;
  if (old && !isAlive(old.pid)) await stopRecordedMoto(old);
  const moto = await startMoto({ detached: true, reuse: true, dir });
  if (!moto.reused) {
    const { endpoint, pid, version, runDir } = moto;
    writeServerState(dir, 's3', { endpoint, pid, version, runDir, startedAt: new Date().toISOString() });
  }
  console.log(`s3: ${moto.endpoint}  (moto ${moto.version}, pid ${moto.pid}${moto.reused ? ', already running' : ''}; any credentials, region us-east-1, path-style)`);
}

async function startElasticsearchServer(): Promise<void> {
  const old = readState(dir).elasticsearch;
  if (old && !isAlive(old.pid)) await stopRecordedElasticsearch(old);
  const es = await startElasticsearch({ detached: true, reuse: true, dir });
  if (!es.reused) {
    const { url, pid, version, runDir } = es;
    writeServerState(dir, 'elasticsearch', { url, pid, version, runDir, startedAt: new Date().toISOString() });
  }
  console.log(`elasticsearch: ${es.url}  (Elasticsearch ${es.version} integ-test zip, pid ${es.pid}${es.reused ? ', already running' : ''}; security off)`);
}

async function startPostgresServer(): Promise<void> {
  const old = readState(dir).postgres;
  if (old && !isAlive(old.pid)) await stopRecordedPostgres(old);
  const pg = await startPostgres({ detached: true, reuse: true, dir });
  if (!pg.reused) {
    const { url, pid, version, runDir, port } = pg;
    writeServerState(dir, 'postgres', { url, pid, version, runDir, port, startedAt: new Date().toISOString() });
  }
  console.log(`postgres: ${pg.url}  (PostgreSQL ${pg.version}, pid ${pg.pid}${pg.reused ? ', already running' : ''}; trust auth, throwaway cluster)`);
}

/** How each server is started and stopped, in start order. */
const servers = {
  kafka: { start: startKafkaServer, stop: stopRecordedKafka },
  envoy: { start: startEnvoyServer, stop: stopRecordedEnvoy },
  s3: { start: startS3Server, stop: stopRecordedMoto },
  elasticsearch: { start: startElasticsearchServer, stop: stopRecordedElasticsearch },
  postgres: { start: startPostgresServer, stop: stopRecordedPostgres },
} as const;
type ServerName = keyof typeof servers;

async function stop(name: ServerName): Promise<void> {
  const entry = readState(dir)[name];
  if (!entry) return console.log(`${name}: not running`);
  await servers[name].stop(entry);
  writeServerState(dir, name, undefined);
  console.log(`${name}: stopped (pid ${entry.pid})`);
}

function usage(): never {
  console.error(`usage: npm run testbed [-- [start|stop] [${Object.keys(servers).join('|')} ...]]`);
  process.exit(2);
}

const args = process.argv.slice(2);
const command = args[0] === 'start' || args[0] === 'stop' ? args.shift()! : 'start';
if (args.some((a) => !(a in servers))) usage();
const named = (args.length > 0 ? args : Object.keys(servers)) as ServerName[];
// Stopped in reverse start order (envoy before kafka, as before).
const run = command === 'start' ? async () => { for (const n of named) await servers[n].start(); } : async () => { for (const n of [...named].reverse()) await stop(n); };
run().then(
  () => process.exit(0), // don't wait for kafkajs sockets; the servers themselves are detached
  (e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  },
);
