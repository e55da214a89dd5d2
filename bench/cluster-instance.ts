/**
 * (m) One reflex process of the cluster section, configured by a reflex.yaml (cluster-config.ts) read
 * the way `reflex serve --config` reads it, HTTP on a free port, its store in `<data dir>`.
 * Usage: tsx bench/cluster-instance.ts <reflex.yaml> <data dir>
 */
import { join } from 'node:path';
import { builtinRegistry } from '../connectors/index.js';
import { loadConfig } from '../src/config/load.js';
import { createLogger } from '../src/logger.js';
import { startReflex } from '../src/runtime.js';
import { loadSpecSet } from '../src/spec/compile.js';
import { announceAndWait } from './child-lifetime.js';
import { startCpuProfile } from './cpu-profile.js';

const [configFile, dataDir] = process.argv.slice(2);
if (!configFile || !dataDir) {
  process.stderr.write('usage: cluster-instance.ts <reflex.yaml> <data dir>\n');
  process.exit(2);
}
const writeProfile = await startCpuProfile('cluster-instance');
const config = loadConfig(configFile, process.env);
config.server.port = 0;
config.store.path = join(dataDir, 'reflex.db');
// Warnings only: a log line per request would measure the logger.
const logger = createLogger({ level: 'warn' });
const specs = await loadSpecSet(config.specs);
const running = await startReflex(config, specs, builtinRegistry(), logger);
announceAndWait(running.url, async () => {
  await running.stop();
  await writeProfile();
});
