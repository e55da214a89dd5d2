/**
 * One step of section (j), in its own process so that neither side shares a heap (or a garbage
 * collector) with the other or with the rest of the benchmark.
 * Usage: node dist/bench/postgres-child.js
 *   fill   <store path> <changes> <keys> <seed>              the workload into a new store
 *   floor  <database url> <store path> <method> [limit]     pg alone, one of values|unnest|copy, into the tables the sink's open() made
 *   reflex <database url> <store path>                      the postgres sink under the Dispatcher
 *   read   <store path> <batch size>                        the store's reads alone, nothing written
 * Prints one JSON line.
 */
import { FLOOR_METHODS, readOnly, runFloor, type FloorMethod } from './postgres-floor.js';
import { postgresSinkSettings, prepareTables, runReflexSink } from './postgres-reflex.js';
import { sinkTables } from './postgres-tables.js';
import { fillStore } from './postgres-workload.js';
import { peakRssMiB } from './peak-rss.js';

const [mode, ...args] = process.argv.slice(2);

function fail(message: string): never {
  process.stderr.write(`postgres-child ${mode ?? ''}: ${message}\n`);
  process.exit(2);
}

async function run(): Promise<object> {
  switch (mode) {
    case 'fill': {
      const [path, changes, keys, seed] = args;
      if (!path || !(Number(changes) > 0) || !(Number(keys) > 0)) fail('usage: fill <store path> <changes> <keys> <seed>');
      return fillStore(path, Number(changes), Number(keys), Number(seed ?? 1));
    }
    case 'floor': {
      const [url, path, method, limit] = args;
      if (!url || !path || !FLOOR_METHODS.includes(method as FloorMethod)) fail(`usage: floor <database url> <store path> <${FLOOR_METHODS.join('|')}> [limit]`);
      const { settings, name, batchSize } = postgresSinkSettings(url);
      await prepareTables(url);
      return runFloor(url, path, sinkTables(name, settings), batchSize, method as FloorMethod, limit ? Number(limit) : Infinity);
    }
    case 'reflex': {
      const [url, path] = args;
      if (!url || !path) fail('usage: reflex <database url> <store path>');
      return runReflexSink(url, path);
    }
    case 'read': {
      const [path, batchSize] = args;
      if (!path || !(Number(batchSize) > 0)) fail('usage: read <store path> <batch size>');
      return readOnly(path, Number(batchSize));
    }
    default:
      return fail('the first argument is one of fill, floor, reflex, read');
  }
}

const result = await run();
process.stdout.write(JSON.stringify({ ...result, maxRssMiB: peakRssMiB() }) + '\n');
