/**
 * One side of section (i), in its own process so that its peak RSS is its own.
 * Usage: node dist/bench/es-child.js <reflex|floor|file> <es url or NDJSON file> <index> <documents> <page size> <tmp dir>
 *   reflex: `reflex serve`'s wiring (startReflex) with an elasticsearch source (format ecs), until /sources counts <documents> read
 *   file:   the same wiring with a file source (format ecs, follow: false) reading the same documents as NDJSON: the pipeline without Elasticsearch
 *   floor:  @elastic/elasticsearch alone: a point in time on the index, paged with search_after, hits discarded
 * Prints one JSON line: documents, seconds, maxRssMiB (and records, deadLetters for reflex).
 */
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@elastic/elasticsearch';
import { builtinRegistry } from '../connectors/index.js';
import { defaultConfig } from '../src/config/types.js';
import { createLogger } from '../src/logger.js';
import { startReflex } from '../src/runtime.js';
import { loadSpecSet } from '../src/spec/compile.js';
import { peakRssMiB } from './peak-rss.js';
import { ROOT } from './root.js';

const [mode, url, index, documentsArg, pageArg, tmp] = process.argv.slice(2);
const documents = Number(documentsArg);
const pageSize = Number(pageArg);
if ((mode !== 'reflex' && mode !== 'floor' && mode !== 'file') || !url || !index || !(documents > 0) || !(pageSize > 0) || !tmp) {
  process.stderr.write('usage: es-child.js <reflex|floor|file> <es url or NDJSON file> <index> <documents> <page size> <tmp dir>\n');
  process.exit(2);
}

const result = mode === 'floor' ? await floor() : await reflex(mode);
process.stdout.write(JSON.stringify({ ...result, maxRssMiB: peakRssMiB() }) + '\n');

/** The least any reader of the index does: the same sort and page size as the source, each page's hits parsed by the client and dropped. */
async function floor(): Promise<{ documents: number; seconds: number }> {
  const client = new Client({ node: url!, maxRetries: 0, requestTimeout: 60_000 });
  const started = performance.now();
  const sort: Array<Record<string, { order: 'asc'; numeric_type?: 'date' }>> = [{ '@timestamp': { order: 'asc', numeric_type: 'date' } }, { _shard_doc: { order: 'asc' } }];
  let pit = (await client.openPointInTime({ index: index!, keep_alive: '1m' })).id;
  let read = 0;
  let after: unknown[] | undefined;
  for (;;) {
    const res = await client.search({
      pit: { id: pit, keep_alive: '1m' }, size: pageSize, sort, query: { bool: { filter: [] } }, track_total_hits: false,
      ...(after ? { search_after: after as never } : {}),
    });
    if (res.pit_id) pit = res.pit_id;
    const hits = res.hits.hits;
    read += hits.length;
    if (hits.length < pageSize) break;
    after = hits.at(-1)!.sort;
  }
  const seconds = (performance.now() - started) / 1000;
  await client.closePointInTime({ id: pit });
  await client.close();
  return { documents: read, seconds };
}

async function reflex(source: 'reflex' | 'file'): Promise<{ documents: number; seconds: number; records: number; deadLetters: number }> {
  const config = defaultConfig();
  config.specs = [join(ROOT, 'examples/shop/openapi.yaml')];
  config.server.port = 0;
  config.store.path = join(mkdtempSync(join(tmp!, 'es-')), 'reflex.db');
  config.store.sync = 'normal';
  config.cdc.reorderWindowMs = 0;
  // lookback 0s: one pass over the index, nothing read twice (the default 5m would re-read the last 5 minutes at each poll).
  config.sources = [source === 'file'
    ? { type: 'file', format: 'ecs', path: url!, follow: false }
    : { type: 'elasticsearch', format: 'ecs', node: url!, index: index!, batchSize: pageSize, lookback: '0s', pollInterval: '200ms' }];
  const specs = await loadSpecSet(config.specs);
  const started = performance.now();
  const running = await startReflex(config, specs, builtinRegistry(), createLogger({ level: 'error' }));
  // The elasticsearch source keeps polling for new documents; it is done once /sources counts them all read.
  // Without follow, the file source's start() returned once the file was read to its end.
  let read = source === 'file' ? Number(running.store.getCheckpoint(`source:file:${url}`)?.split(':')[1] ?? 0) : 0;
  while (source !== 'file' && read < documents) {
    const sources = (await (await fetch(`${running.url}/sources`)).json()) as Array<{ type: string; read: { documents?: number } }>;
    read = sources.find((s) => s.type === 'elasticsearch')?.read.documents ?? 0;
    if (read >= documents) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const seconds = (performance.now() - started) / 1000;
  const records = running.store.streams().reduce((n, s) => n + s.count, 0);
  const deadLetters = running.store.deadLetters(0, 1000).length;
  await running.stop();
  return { documents: read, seconds, records, deadLetters };
}
