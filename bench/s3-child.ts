/**
 * One side of section (h), in its own process so that its peak RSS is its own.
 * Usage: node dist/bench/s3-child.js <reflex|floor> <endpoint> <bucket> <prefix> <objects> <tmp dir>
 *   reflex: `reflex serve`'s wiring (startReflex) with an s3 source, until it has read <objects> objects
 *   floor:  GetObject + gunzip + JSON.parse per line of every object under the prefix, nothing stored
 * Prints one JSON line: entries, seconds, maxRssMiB (and records, deadLetters for reflex).
 */
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { builtinRegistry } from '../connectors/index.js';
import { defaultConfig } from '../src/config/types.js';
import { createLogger } from '../src/logger.js';
import { startReflex } from '../src/runtime.js';
import { loadSpecSet } from '../src/spec/compile.js';
import { emulatorClientConfig, MOTO_CREDENTIALS } from '../testbed/s3.js';
import { peakRssMiB } from './peak-rss.js';
import { ROOT } from './root.js';

const [mode, endpoint, bucket, prefix, objectsArg, tmp] = process.argv.slice(2);
const objects = Number(objectsArg);
if ((mode !== 'reflex' && mode !== 'floor') || !endpoint || !bucket || prefix === undefined || !(objects > 0) || !tmp) {
  process.stderr.write('usage: s3-child.js <reflex|floor> <endpoint> <bucket> <prefix> <objects> <tmp dir>\n');
  process.exit(2);
}

const result = mode === 'floor' ? await floor() : await reflex();
process.stdout.write(JSON.stringify({ ...result, maxRssMiB: peakRssMiB() }) + '\n');

/** The least any S3 reader does: each object fetched, gunzipped, split into lines and parsed, one after the other. */
async function floor(): Promise<{ entries: number; seconds: number }> {
  const client = new S3Client(emulatorClientConfig(endpoint!));
  const started = performance.now();
  let entries = 0;
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }));
    for (const { Key } of page.Contents ?? []) {
      const body = (await client.send(new GetObjectCommand({ Bucket: bucket, Key }))).Body as Readable;
      const input = Key!.endsWith('.gz') ? body.pipe(createGunzip()) : body;
      for await (const line of createInterface({ input, crlfDelay: Infinity })) {
        if (line) {
          JSON.parse(line);
          entries++;
        }
      }
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  const seconds = (performance.now() - started) / 1000;
  client.destroy();
  return { entries, seconds };
}

async function reflex(): Promise<{ entries: number; seconds: number; records: number; deadLetters: number }> {
  const config = defaultConfig();
  config.specs = [join(ROOT, 'examples/shop/openapi.yaml')];
  config.server.port = 0;
  config.store.path = join(mkdtempSync(join(tmp!, 's3-')), 'reflex.db');
  config.store.sync = 'normal';
  config.cdc.reorderWindowMs = 0;
  config.sources = [{
    type: 's3', format: 'kong', bucket: bucket!, prefix: prefix!, endpoint: endpoint!, forcePathStyle: true,
    accessKeyId: MOTO_CREDENTIALS.accessKeyId, secretAccessKey: MOTO_CREDENTIALS.secretAccessKey,
  }];
  const specs = await loadSpecSet(config.specs);
  const started = performance.now();
  const running = await startReflex(config, specs, builtinRegistry(), createLogger({ level: 'error' }));
  // The source keeps polling for new objects; it is done once /sources counts them all read.
  let status: { read: { objects?: number; entries: number } } | undefined;
  for (;;) {
    const sources = (await (await fetch(`${running.url}/sources`)).json()) as Array<{ type: string; read: { objects?: number; entries: number } }>;
    status = sources.find((s) => s.type === 's3');
    if ((status?.read.objects ?? 0) >= objects) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const seconds = (performance.now() - started) / 1000;
  const records = running.store.streams().reduce((n, s) => n + s.count, 0);
  const deadLetters = running.store.deadLetters(0, 1000).length;
  await running.stop();
  return { entries: status!.read.entries, seconds, records, deadLetters };
}
