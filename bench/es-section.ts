/**
 * (i) The elasticsearch source: ECS documents of shop traffic bulk-indexed into the local
 * Elasticsearch (from the testbed), read into the store by `reflex serve`'s wiring in its own
 * process, beside the read floor (the client alone paging the same documents, nothing stored) and,
 * for reference, the same documents as NDJSON through a file source (the pipeline without Elasticsearch).
 */
import { join } from 'node:path';
import { Client } from '@elastic/elasticsearch';
import { startElasticsearch } from '../testbed/elasticsearch.js';
import { indexEcsDocuments } from './es-documents.js';
import { runJsonChild } from './json-child.js';
import { mark, num, section, table, verdict, type Verdict } from './report.js';

export interface EsSectionOptions {
  tmp: string;
  out: (line?: string) => void;
  documents: number;
  /** Documents per search page, for the source (`batchSize`) and the floor alike. */
  pageSize: number;
  seed: number;
  target: number;
}

interface ChildResult { documents: number; seconds: number; maxRssMiB: number; records?: number; deadLetters?: number }

export async function esSection(options: EsSectionOptions): Promise<Verdict> {
  const { out } = options;
  out(section('(i) elasticsearch source: ECS documents in a local Elasticsearch into the store'));
  const es = await startElasticsearch();
  const client = new Client({ node: es.url });
  const index = `reflex-bench-${Date.now()}`;
  try {
    out(`    Elasticsearch ${es.version} at ${es.url}${es.reused ? ' (the one npm run testbed started)' : ''}, on this machine: its CPU counts against every row`);
    const file = join(options.tmp, 'es-documents.ndjson');
    const input = await indexEcsDocuments(client, index, options.documents, options.seed, file);
    out(`    ${num(input.documents)} ECS HTTP documents (bench/generate.ts shop traffic, seed ${options.seed}, as Kong's ECS logs with bodies), ${mib(input.bytes)} of _source,`);
    out(`    bulk-indexed into one index (1 shard, only @timestamp mapped) in ${input.seconds.toFixed(1)} s, then refreshed`);
    out(`    measured: reflex (startReflex with an elasticsearch source, format ecs, batchSize ${num(options.pageSize)}, lookback 0s so nothing is read twice,`);
    out(`    store sync normal) in its own process, from start until /sources counts every document read, each through decode, rules, CDC and the store`);
    out(`    floor: @elastic/elasticsearch alone opening a point in time and paging the same documents with search_after (same sort, page size ${num(options.pageSize)}), discarding them, in its own process`);
    out(`    for reference: the same documents as NDJSON in one local file read by a file source (format ecs, follow: false): the pipeline without Elasticsearch`);
    const reflex = await runChild('reflex', es.url, index, options);
    const fromFile = await runChild('file', file, index, options);
    const floor = await runChild('floor', es.url, index, options);
    out(table([
      ['', 'documents/s', 'MiB/s (_source)', 'seconds', 'peak RSS', 'documents', 'records', 'dead letters'],
      row('reflex elasticsearch source', reflex, input.bytes),
      row('reflex file source (same NDJSON)', fromFile, input.bytes),
      row('PIT + search_after, discarded', floor, input.bytes),
    ]));
    const complete = reflex.documents === input.documents && floor.documents === input.documents;
    if (!complete) out(`    read ${num(reflex.documents)} (reflex) and ${num(floor.documents)} (floor) of ${num(input.documents)} documents`);
    const ratio = rate(reflex) / rate(floor);
    const v = verdict('(i) elasticsearch source / read floor', ratio >= options.target && complete, `${ratio.toFixed(2)} (target >= ${options.target})`);
    out(`    elasticsearch source / file source: ${(rate(reflex) / rate(fromFile)).toFixed(2)} (what reading from Elasticsearch costs beside the pipeline)`);
    out(`    ratio to the floor: ${ratio.toFixed(2)}  target >= ${options.target}  ${mark(v)}`);
    return v;
  } finally {
    // A reused Elasticsearch keeps nothing of the run.
    await client.indices.delete({ index }, { ignore: [404] }).catch(() => undefined);
    await client.close();
    await es.stop();
  }
}

const mib = (bytes: number) => `${num(bytes / 2 ** 20)} MiB`;
const rate = (r: ChildResult) => r.documents / r.seconds;

function row(name: string, r: ChildResult, bytes: number): string[] {
  return [name, num(rate(r)), num(bytes / 2 ** 20 / r.seconds, 1), r.seconds.toFixed(1), `${num(r.maxRssMiB)} MiB`,
    num(r.documents), r.records === undefined ? '' : num(r.records), r.deadLetters === undefined ? '' : num(r.deadLetters)];
}

function runChild(mode: 'reflex' | 'floor' | 'file', url: string, index: string, options: EsSectionOptions): Promise<ChildResult> {
  return runJsonChild<ChildResult>('es-child', [mode, url, index, String(options.documents), String(options.pageSize), options.tmp]);
}
