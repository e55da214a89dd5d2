/**
 * One side of section (g), in its own process so that its peak RSS is its own.
 * Usage: node dist/bench/file-backlog-child.js <reflex|baseline> <file> <tmp dir>
 */
import { createReadStream, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { builtinRegistry } from '../connectors/index.js';
import { defaultConfig } from '../src/config/types.js';
import { createLogger } from '../src/logger.js';
import { startReflex } from '../src/runtime.js';
import { loadSpecSet } from '../src/spec/compile.js';
import { peakRssMiB as maxRssMiB } from './peak-rss.js';
import { ROOT } from './root.js';

const [mode, file, tmp] = process.argv.slice(2);
if ((mode !== 'reflex' && mode !== 'baseline') || !file || !tmp) {
  process.stderr.write('usage: file-backlog-child.js <reflex|baseline> <file> <tmp dir>\n');
  process.exit(2);
}

if (mode === 'baseline') {
  const started = performance.now();
  let lines = 0;
  for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
    try {
      JSON.parse(line);
    } catch {
      // the malformed line
    }
    lines++;
  }
  process.stdout.write(JSON.stringify({ lines, seconds: (performance.now() - started) / 1000, maxRssMiB: maxRssMiB() }) + '\n');
} else {
  const config = defaultConfig();
  config.specs = [join(ROOT, 'examples/shop/openapi.yaml')];
  config.server.port = 0;
  config.store.path = join(mkdtempSync(join(tmp, 'file-backlog-')), 'reflex.db');
  config.store.sync = 'normal';
  config.cdc.reorderWindowMs = 0;
  config.sources = [{ type: 'file', path: file, format: 'kong', follow: false }];
  const specs = await loadSpecSet(config.specs);
  const started = performance.now();
  // Without follow, start() returns once the file has been read to its end.
  const running = await startReflex(config, specs, builtinRegistry(), createLogger({ level: 'error' }));
  const seconds = (performance.now() - started) / 1000;
  const checkpoint = running.store.getCheckpoint(`source:file:${file}`) ?? '';
  const lines = Number(checkpoint.split(':')[1] ?? 0);
  const records = running.store.streams().reduce((n, s) => n + s.count, 0);
  const deadLetters = running.store.deadLetters(0, 1000).length;
  await running.stop();
  process.stdout.write(JSON.stringify({ lines, seconds, maxRssMiB: maxRssMiB(), records, deadLetters }) + '\n');
}
