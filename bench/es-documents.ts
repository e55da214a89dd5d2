/**
 * The input of section (i): the shop traffic of bench/generate.ts as ECS HTTP documents (shaped like
 * shared/fixtures/ecs-http-log-with-body-sample.json, as Elastic Agent's Kong integration indexes
 * them), bulk-indexed into one fresh index of the local Elasticsearch, and written as NDJSON to a
 * file for the same pipeline without Elasticsearch.
 */
import { writeFileSync, appendFileSync } from 'node:fs';
import type { Client } from '@elastic/elasticsearch';
import { generateKongLogs } from './generate.js';

/** Documents per bulk request. */
const BULK = 5_000;

export interface IndexedDocuments {
  documents: number;
  /** Bytes of the documents' JSON (their `_source`). */
  bytes: number;
  seconds: number;
}

interface KongEntry {
  started_at: number;
  client_ip: string;
  upstream_uri: string;
  latencies: { request: number };
  consumer?: { username: string };
  request: { id: string; method: string; headers: Record<string, string>; body?: string };
  response: { status: number; headers: Record<string, string>; body?: string };
}

/** One Kong log entry as an ECS document: the client's path without Kong's route prefix, so the shop spec's operations match. */
export function kongToEcs(kong: KongEntry): Record<string, unknown> {
  const [path, query] = kong.upstream_uri.split('?', 2) as [string, string | undefined];
  const { request: req, response: res } = kong;
  return {
    '@timestamp': new Date(kong.started_at + kong.latencies.request).toISOString(),
    ecs: { version: '8.11.0' },
    event: { kind: 'event', category: ['web'], dataset: 'kong.access', start: new Date(kong.started_at).toISOString(), duration: kong.latencies.request * 1e6 },
    http: {
      version: '1.1',
      request: { id: req.id, method: req.method, headers: req.headers, ...(req.body !== undefined ? { body: { content: req.body, bytes: req.body.length } } : {}) },
      response: { status_code: res.status, headers: res.headers, ...(res.body !== undefined ? { body: { content: res.body, bytes: res.body.length } } : {}) },
    },
    url: { scheme: 'https', domain: 'api.shop.example', path, ...(query ? { query } : {}) },
    client: { ip: kong.client_ip },
    ...(kong.consumer ? { user: { name: kong.consumer.username } } : {}),
    user_agent: { original: req.headers['user-agent'] },
    service: { name: 'shop-api' },
    observer: { product: 'kong', type: 'proxy', name: 'kong-1' },
  };
}

/**
 * Creates `index` (only `@timestamp` mapped: the rest stays in `_source` unindexed, which keeps the
 * setup short and changes nothing a reader of `_source` pays) and bulk-indexes `count` documents.
 */
export async function indexEcsDocuments(client: Client, index: string, count: number, seed: number, ndjsonFile: string): Promise<IndexedDocuments> {
  await client.indices.create({ index, settings: { number_of_shards: 1, number_of_replicas: 0, refresh_interval: '-1' }, mappings: { dynamic: false, properties: { '@timestamp': { type: 'date' } } } });
  const started = performance.now();
  let bytes = 0;
  const { texts } = generateKongLogs({ count, seed });
  writeFileSync(ndjsonFile, '');
  for (let i = 0; i < count; i += BULK) {
    const operations: unknown[] = [];
    const lines: string[] = [];
    for (const text of texts.slice(i, i + BULK)) {
      const doc = kongToEcs(JSON.parse(text) as KongEntry);
      const line = JSON.stringify(doc);
      bytes += Buffer.byteLength(line);
      lines.push(line);
      operations.push({ index: { _index: index } }, doc);
    }
    appendFileSync(ndjsonFile, lines.join('\n') + '\n');
    const res = await client.bulk({ index, operations });
    if (res.errors) throw new Error(`bulk indexing failed: ${JSON.stringify(res.items.find((x) => x.index?.error)?.index?.error)}`);
  }
  await client.indices.refresh({ index });
  return { documents: count, bytes, seconds: (performance.now() - started) / 1000 };
}
