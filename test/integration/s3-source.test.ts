import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createGzip, gzipSync } from 'node:zlib';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { builtinRegistry } from '../../connectors/index.js';
import { s3Source } from '../../connectors/sources/s3/source.js';
import { defaultConfig, type ConnectorBlock } from '../../src/config/types.js';
import { createLogger, silentLogger, type Logger } from '../../src/logger.js';
import { startReflex, type RunningReflex } from '../../src/runtime.js';
import { loadSpecSet } from '../../src/spec/compile.js';
import type { CompiledSpecSet } from '../../src/spec/types.js';
import { emulatorClientConfig, MOTO_CREDENTIALS, startMoto, type MotoTestbed } from '../../testbed/s3.js';
import { sourceConformance } from '../support/conformance/source.js';
import { kongLog } from '../support/kong-log.js';
import { ROOT, startReflexProcess } from '../support/reflex-process.js';

// A real S3 server: moto (testbed/s3.ts), pip-installed on the first run, hence the long hook timeout.
let moto: MotoTestbed;
let s3: S3Client;
let specs: CompiledSpecSet;
let dir: string;
const run = `s3src${Date.now()}`;
const running: RunningReflex[] = [];
let buckets = 0;

beforeAll(async () => {
  moto = await startMoto();
  s3 = new S3Client(emulatorClientConfig(moto.endpoint));
  specs = await loadSpecSet([`${ROOT}examples/shop/openapi.yaml`]);
  dir = mkdtempSync(join(tmpdir(), 'reflex-s3-source-'));
}, 300_000);
afterAll(async () => {
  for (const r of running) await r.stop();
  s3?.destroy();
  await moto?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function newBucket(): Promise<string> {
  const bucket = `${run}-${++buckets}`;
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  return bucket;
}

const put = (bucket: string, key: string, body: string | Buffer, extra: { ContentEncoding?: string } = {}) =>
  s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ...extra }));

let seq = 0;
/** A Kong log of POST /v1/orders → 201: the shop spec makes one OrderPlaced (in stream `orders`) of it. */
function orderLog(orderId: string): Record<string, unknown> {
  const n = ++seq;
  const order = { id: orderId, customerId: 'cus_1001', status: 'pending', currency: 'EUR', total: 24.9, items: [{ sku: 'MUG', quantity: 1, unitPrice: 24.9 }] };
  return kongLog({
    id: `req-${run}-${orderId}`, startedAt: Date.parse('2026-11-02T09:14:03Z') + n * 1000, method: 'POST', path: '/v1/orders', status: 201,
    requestBody: { customerId: order.customerId, items: order.items }, responseBody: order,
  });
}
const written = new Map<string, string>();
/** NDJSON of these orders; an order written again is the same line, as a gateway's log re-uploaded is. */
const ndjson = (ids: string[]) => ids.map((id) => (written.get(id) ?? written.set(id, JSON.stringify(orderLog(id))).get(id)!) + '\n').join('');
const ids = (p: string, n: number) => Array.from({ length: n }, (_, i) => `${p}${i}`);

function sourceBlock(bucket: string, extra: Record<string, unknown> = {}): ConnectorBlock {
  return { type: 's3', format: 'kong', bucket, prefix: 'logs/', endpoint: moto.endpoint, forcePathStyle: true, pollInterval: '200ms', accessKeyId: MOTO_CREDENTIALS.accessKeyId, secretAccessKey: MOTO_CREDENTIALS.secretAccessKey, ...extra };
}

async function start(source: ConnectorBlock, db: string, logger: Logger = silentLogger): Promise<RunningReflex> {
  const config = defaultConfig();
  config.server.port = 0;
  config.store.path = join(dir, db);
  config.cdc.reorderWindowMs = 0;
  config.sources = [source];
  const r = await startReflex(config, specs, builtinRegistry(), logger);
  running.push(r);
  return r;
}

async function stop(r: RunningReflex) {
  await r.stop();
  running.splice(running.indexOf(r), 1);
}

async function until<T>(what: string, get: () => T | Promise<T>, done: (v: T) => boolean, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await get();
    if (done(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v).slice(0, 2000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const orderIds = (r: RunningReflex) => r.store.read('orders', 0, 100_000).map((rec) => (rec.value as { data: { orderId: string } }).data.orderId);
const settle = () => new Promise((r) => setTimeout(r, 1_000)); // anything read twice would show up by now

function capture(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  return { logger: createLogger({ level: 'info', json: true, write: (l) => lines.push(l) }), lines };
}

describe('s3 source', () => {
  it('reads plain NDJSON, gzip (by .gz and by Content-Encoding) and Firehose\'s back-to-back JSON objects; keys outside the prefix are ignored; a bad line is a dead letter naming the object and line', async () => {
    const bucket = await newBucket();
    await put(bucket, 'logs/2026/11/02/a.ndjson', ndjson(ids('plain', 3)));
    await put(bucket, 'logs/2026/11/02/b.ndjson.gz', gzipSync(ndjson(ids('gz', 3))));
    await put(bucket, 'logs/2026/11/02/c.json', gzipSync(ndjson(ids('enc', 2))), { ContentEncoding: 'gzip' });
    const firehose = ids('fh', 3).map((id) => JSON.stringify(orderLog(id)));
    await put(bucket, 'logs/2026/11/02/d-firehose', `${firehose[0]}${firehose[1]}\n${firehose[2]}`);
    await put(bucket, 'logs/2026/11/02/e.ndjson', `${JSON.stringify(orderLog('bad0'))}\nnot json at all\n${JSON.stringify(orderLog('bad1'))}\n`);
    await put(bucket, 'other/x.ndjson', ndjson(ids('outside', 2)));

    const r = await start(sourceBlock(bucket), 'formats.db');
    await until('13 orders', () => orderIds(r), (got) => got.length >= 13);
    await settle();
    expect(orderIds(r).sort()).toEqual([...ids('plain', 3), ...ids('gz', 3), ...ids('enc', 2), ...ids('fh', 3), 'bad0', 'bad1'].sort());
    const dead = r.store.deadLetters(0, 10);
    expect(dead).toHaveLength(1);
    expect(dead[0]!.diagnostic).toMatchObject({ file: `s3://${bucket}/logs/2026/11/02/e.ndjson`, line: 2 });
    await stop(r);
  });

  it('reads an object replaced under the same key (new ETag) again, with no event twice; reads a late key that sorts before the checkpoint once', async () => {
    const bucket = await newBucket();
    await put(bucket, 'logs/01.ndjson', ndjson(ids('one', 2)));
    await put(bucket, 'logs/03.ndjson', ndjson(ids('three', 2)));
    const r = await start(sourceBlock(bucket), 'replaced.db');
    await until('4 orders', () => orderIds(r), (got) => got.length >= 4);

    // Replaced: the old entries again plus new ones; the dedupe window drops the old ones.
    await put(bucket, 'logs/01.ndjson', ndjson([...ids('one', 2), 'one-more']));
    // Late: sorts before logs/03.ndjson, already read.
    await put(bucket, 'logs/02.ndjson', ndjson(ids('two', 2)));
    await until('7 orders', () => orderIds(r), (got) => got.length >= 7);
    await settle();
    await settle();
    expect(orderIds(r).sort()).toEqual([...ids('one', 2), 'one-more', ...ids('two', 2), ...ids('three', 2)].sort());
    await stop(r);

    // After a restart nothing is read again.
    const again = await start(sourceBlock(bucket), 'replaced.db');
    await settle();
    expect(orderIds(again)).toHaveLength(7);
    await stop(again);
  });

  it('a missing bucket: one log line naming bucket, prefix and NoSuchBucket, /readyz 503, retried until the bucket exists', async () => {
    const bucket = `${run}-later`;
    const { logger, lines } = capture();
    const r = await start(sourceBlock(bucket), 'missing.db', logger);
    const ready = async () => {
      const res = await fetch(`${r.url}/readyz`);
      return { status: res.status, body: (await res.json()) as { status: string; sources?: Array<{ code: string }> } };
    };
    await until('/readyz degraded', ready, (a) => a.status === 503 && a.body.status === 'degraded');
    expect((await ready()).body.sources?.[0]?.code).toBe('NoSuchBucket');
    await until('the retry', () => lines.length, () => true, 3_000);
    await new Promise((res) => setTimeout(res, 3_500)); // a few retries
    const failures = lines.filter((l) => l.includes('cannot read'));
    expect(failures).toHaveLength(1);
    expect(JSON.parse(failures[0]!)).toMatchObject({ level: 'error', bucket, prefix: 'logs/', code: 'NoSuchBucket' });
    expect(failures[0]).toContain(`s3://${bucket}/logs/`);

    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await put(bucket, 'logs/a.ndjson', ndjson(ids('later', 2)));
    await until('2 orders', () => orderIds(r), (got) => got.length >= 2, 90_000);
    await until('/readyz ready', ready, (a) => a.status === 200);
    await stop(r);
  }, 120_000);
});

describe('s3 source with credentials checked (moto INITIAL_NO_AUTH_ACTION_COUNT)', () => {
  it('wrong credentials: logged with the SDK\'s code, retried, /readyz says so', async () => {
    // Two unauthenticated actions (create the bucket, put an object), then moto checks every request.
    const guarded = await startMoto({ env: { INITIAL_NO_AUTH_ACTION_COUNT: '2' } });
    const client = new S3Client(emulatorClientConfig(guarded.endpoint));
    try {
      await client.send(new CreateBucketCommand({ Bucket: 'guarded' }));
      await client.send(new PutObjectCommand({ Bucket: 'guarded', Key: 'logs/a.ndjson', Body: ndjson(ids('denied', 1)) }));
      const { logger, lines } = capture();
      const r = await start({ ...sourceBlock('guarded'), endpoint: guarded.endpoint }, 'denied.db', logger);
      const res = await until('/readyz degraded', () => fetch(`${r.url}/readyz`).then(async (x) => ({ status: x.status, body: await x.json() as { sources?: Array<{ code: string }> } })), (a) => a.status === 503 && !!a.body.sources);
      expect(res.body.sources![0]!.code).toBe('InvalidAccessKeyId');
      const failure = lines.find((l) => l.includes('cannot read'))!;
      expect(JSON.parse(failure)).toMatchObject({ bucket: 'guarded', prefix: 'logs/', code: 'InvalidAccessKeyId', status: 403 });
      expect(orderIds(r)).toEqual([]);
      await stop(r);
    } finally {
      client.destroy();
      await guarded.stop();
    }
  }, 120_000);
});

describe('s3 source under kill -9', () => {
  it('resumes mid-object (plain and gzip) after kill -9: every entry stored exactly once', async () => {
    const bucket = await newBucket();
    const plain = ids('k9plain', 3000);
    const gz = ids('k9gz', 3000);
    await put(bucket, 'logs/1.ndjson', ndjson(plain));
    await put(bucket, 'logs/2.ndjson.gz', gzipSync(ndjson(gz)));
    const data = mkdtempSync(join(dir, 'kill9-'));
    const config = join(data, 'reflex.yaml');
    writeFileSync(config, stringify({
      specs: [`${ROOT}examples/shop/openapi.yaml`],
      store: { path: join(data, 'reflex.db') },
      cdc: { reorderWindow: '0' },
      sources: [{ ...sourceBlock(bucket), batchEntries: 20 }],
    }));
    const entries = async (url: string) => {
      const res = await fetch(`${url}/sources`).then((x) => x.json() as Promise<Array<{ type: string; read: { entries: number } }>>).catch(() => []);
      return res.find((s) => s.type === 's3')?.read.entries ?? 0;
    };
    // Killed twice: once inside the plain object, once inside the gzip one.
    for (const atLeast of [500, 3500]) {
      const p = await startReflexProcess(['--config', config]);
      await until(`${atLeast} entries`, () => entries(p.url), (n) => n >= atLeast, 60_000);
      await p.kill9();
    }
    const last = await startReflexProcess(['--config', config]);
    const orders = async () => {
      const got: string[] = [];
      for (let after = 0; ; ) {
        const page = await fetch(`${last.url}/streams/orders/events?after=${after}&limit=1000`).then((x) => x.json() as Promise<Array<{ offset: number; value: { data: { orderId: string } } }>>);
        if (page.length === 0) return got;
        got.push(...page.map((e) => e.value.data.orderId));
        after = page.at(-1)!.offset;
      }
    };
    await until('6000 orders', orders, (got) => got.length >= 6000, 90_000);
    await settle();
    const got = await orders();
    expect(got).toHaveLength(6000);
    expect(new Set(got)).toEqual(new Set([...plain, ...gz]));
    await last.stop();
  }, 240_000);
});

describe('s3 source on a large object', () => {
  // ~300 MiB of NDJSON (gzip: ~1 MiB stored) in 1,024 Kong logs with 256 KiB response bodies (a product
  // catalogue), on a route the shop spec does not have: the object's bytes dominate, not the pipeline.
  const LINES = 1_024;
  const vmHwmMiB = (pid: number) => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

  function* catalogueLines(): Generator<Buffer> {
    const product = { sku: 'MUG-CLASSIC', name: 'Classic mug, 350 ml, stoneware', price: 12.5, currency: 'EUR', stock: 140 };
    const body = JSON.stringify(Array.from({ length: 2_500 }, () => product)).padEnd(256 * 1024, ' ');
    const template = JSON.stringify(kongLog({ id: 'REQUEST_ID', startedAt: Date.parse('2026-11-02T09:00:00Z'), method: 'GET', path: '/v1/catalogue', status: 200, responseBody: body }));
    for (let i = 0; i < LINES; i++) yield Buffer.from(template.replace('REQUEST_ID', `req-${run}-large-${i}`) + '\n');
  }

  it('reads a ~300 MiB gzip object through the compiled CLI while its peak RSS grows by less than 128 MiB', async () => {
    const bucket = await newBucket();
    const data = mkdtempSync(join(dir, 'large-'));
    const config = join(data, 'reflex.yaml');
    writeFileSync(config, stringify({
      specs: [`${ROOT}examples/shop/openapi.yaml`],
      store: { path: join(data, 'reflex.db') },
      sources: [sourceBlock(bucket)],
    }));
    const p = await startReflexProcess(['--config', config]);
    try {
      const read = async () => {
        const res = (await fetch(`${p.url}/sources`).then((x) => x.json())) as Array<{ type: string; read: { objects?: number; entries: number } }>;
        return res.find((s) => s.type === 's3')!.read;
      };
      await settle(); // a few empty listings: the process's peak so far is its baseline
      const idle = vmHwmMiB(p.child.pid!);

      // A multipart upload of the gzip stream: the object is never whole in this process either.
      const gzip = Readable.from(catalogueLines()).pipe(createGzip({ level: 1 }));
      await new Upload({ client: s3, params: { Bucket: bucket, Key: 'logs/catalogue.ndjson.gz', Body: gzip } }).done();
      const done = await until('the large object read', read, (r) => (r.objects ?? 0) >= 1, 60_000);
      expect(done.entries).toBe(LINES);

      // Streaming holds one batch (at most 4 MiB of entries) and a few chunks: the peak grew by ~50 MiB
      // here, V8's heap sizing to the garbage of parsing. Reading the object whole holds its ~300 MiB
      // as Buffers, then again as a string: the peak grew by ~980 MiB when object-reader was made to.
      const growth = vmHwmMiB(p.child.pid!) - idle;
      expect(growth).toBeLessThan(128);
    } finally {
      await p.stop();
    }
  }, 90_000);
});

let conformanceBuckets = 0;
sourceConformance('s3', {
  connector: s3Source,
  async config() {
    const bucket = await newBucket();
    return sourceBlock(bucket, { name: `s3-conformance-${++conformanceBuckets}` }) as Record<string, unknown>;
  },
  async send(instance, batch) {
    const key = `logs/${String(Date.now()).padStart(15, '0')}-${++seq}.ndjson`;
    const lines = batch.map((id) => JSON.stringify(kongLog({ id, startedAt: 1_700_000_000_000, method: 'GET', path: '/v1/orders/1', status: 200 })));
    await put(instance.settings.bucket as string, key, lines.join('\n') + '\n');
    return true;
  },
  pickupMs: 20_000,
  badConfigs: [
    { what: 'no bucket', block: { format: 'kong' }, message: /must have required property 'bucket'/ },
    { what: 'a pollInterval that is no duration', block: { bucket: 'b', format: 'kong', pollInterval: 'soon' }, pointer: '/pollInterval', message: /pollInterval must match pattern/ },
    { what: 'an access key without its secret', block: { bucket: 'b', format: 'kong', accessKeyId: 'AKIA' }, message: /secretAccessKey/ },
  ],
});
