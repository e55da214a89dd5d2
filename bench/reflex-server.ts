/**
 * reflex as the benchmark runs it: the whole server (`startReflex`, as `reflex serve` wires it) in
 * its own process. Usage: tsx bench/reflex-server.ts <spec> <data dir> <full|normal> [kafka brokers] [ingest workers]
 * With brokers (comma-separated; '' for none), a Kafka sink writes every stream to `bench.{stream}` (section (e)).
 * Without a workers count, `ingest.workers` keeps its default. REFLEX_BENCH_PROFILE: see cpu-profile.ts.
 */
import { join } from 'node:path';
import { defaultConfig } from '../src/config/types.js';
import { serveUntilStopped } from './serve-child.js';
import { startCpuProfile } from './cpu-profile.js';

const [spec, dataDir, sync, brokers, workers] = process.argv.slice(2);
const writeProfile = await startCpuProfile('reflex-server');
if (!spec || !dataDir || (sync !== 'full' && sync !== 'normal')) {
  process.stderr.write('usage: reflex-server.ts <spec> <data dir> <full|normal> [kafka brokers] [ingest workers]\n');
  process.exit(2);
}

const config = defaultConfig();
config.specs = [spec];
config.server.port = 0;
config.store.path = join(dataDir, 'reflex.db');
config.store.sync = sync;
if (workers) config.ingest.workers = Number(workers);
if (brokers) {
  // Changes go to Kafka as soon as they are stored, not 3 s later, so latency measures the pipeline.
  config.cdc.reorderWindowMs = 0;
  // LogAppendTime: a consumer then reads the broker's append time as each message's timestamp.
  config.sinks = [{ type: 'kafka', brokers: brokers.split(','), topic: 'bench.{stream}', topicConfig: { 'message.timestamp.type': 'LogAppendTime' } }];
}
await serveUntilStopped(config, writeProfile);
