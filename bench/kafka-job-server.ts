/**
 * (k) reflex as a Kafka-in, Kafka-out job, in its own process: a `kafka` source reading Kong logs
 * from one topic, the shop spec's rules and CDC, a `kafka` sink writing every stream to
 * `<prefix>{stream}`. The store is as shipped (sync full); the reorder window is 0 so the last
 * change records are not held 3 s after the last log (the job's end is measured).
 * Usage: tsx bench/kafka-job-server.ts <spec> <data dir> <brokers> <input topic> <group id> <output prefix>
 */
import { join } from 'node:path';
import { builtinRegistry } from '../connectors/index.js';
import { defaultConfig } from '../src/config/types.js';
import { createLogger } from '../src/logger.js';
import { startReflex } from '../src/runtime.js';
import { loadSpecSet } from '../src/spec/compile.js';
import { announceAndWait } from './child-lifetime.js';

const [spec, dataDir, brokers, input, groupId, prefix] = process.argv.slice(2);
if (!spec || !dataDir || !brokers || !input || !groupId || !prefix) {
  process.stderr.write('usage: kafka-job-server.ts <spec> <data dir> <brokers> <input topic> <group id> <output prefix>\n');
  process.exit(2);
}

const config = defaultConfig();
config.specs = [spec];
config.server.port = 0;
config.store.path = join(dataDir, 'reflex.db');
config.cdc.reorderWindowMs = 0;
config.sources = [{ type: 'kafka', brokers: brokers.split(','), topics: [input], format: 'kong', groupId }];
config.sinks = [{ type: 'kafka', brokers: brokers.split(','), topic: `${prefix}{stream}`, topicConfig: { 'message.timestamp.type': 'LogAppendTime' } }];
// Warnings only: a log line per batch would measure the logger.
const logger = createLogger({ level: 'warn' });
const specs = await loadSpecSet(config.specs);
const running = await startReflex(config, specs, builtinRegistry(), logger);
announceAndWait(running.url, () => running.stop());
