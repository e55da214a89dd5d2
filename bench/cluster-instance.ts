/**
 * (m) One reflex process of the cluster section, configured by a reflex.yaml (cluster-config.ts) read
 * the way `reflex serve --config` reads it, HTTP on a free port, its store in `<data dir>`.
 * Usage: tsx bench/cluster-instance.ts <reflex.yaml> <data dir>
 */
import { join } from 'node:path';
import { loadConfig } from '../src/config/load.js';
import { serveUntilStopped } from './serve-child.js';
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
await serveUntilStopped(config, writeProfile);
