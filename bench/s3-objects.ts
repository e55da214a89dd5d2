/**
 * The input of section (h), written into the local S3 server: gzip NDJSON objects of Kong log
 * entries from bench/generate.ts, and one large object streamed in by a multipart upload, so that
 * neither this process nor the upload ever holds it whole.
 */
import { appendFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { createGzip, gzipSync } from 'node:zlib';
import { CreateBucketCommand, DeleteBucketCommand, DeleteObjectsCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { generateKongLogs } from './generate.js';

const START = Date.parse('2026-11-02T09:00:00.000Z');
const BLOCK = 2_000;

export interface WrittenObjects {
  objects: number;
  entries: number;
  /** NDJSON bytes, before gzip. */
  bytes: number;
  /** Bytes stored in S3. */
  storedBytes: number;
}

/** A fresh bucket per run: moto may be the one `npm run testbed` keeps running. */
export async function createBucket(client: S3Client, name: string): Promise<string> {
  await client.send(new CreateBucketCommand({ Bucket: name }));
  return name;
}

/** Empties and removes a bucket, so that a reused moto does not keep hundreds of MB. */
export async function deleteBucket(client: S3Client, bucket: string): Promise<void> {
  for (;;) {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
    const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key! }));
    if (keys.length === 0) break;
    await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys } }));
  }
  await client.send(new DeleteBucketCommand({ Bucket: bucket }));
}

/**
 * `objects` gzip NDJSON objects of `entriesPerObject` entries each, keys in the order they were
 * logged; the same NDJSON also appended to `copyTo`, for a file source to read.
 */
export async function putGzipObjects(client: S3Client, bucket: string, prefix: string, objects: number, entriesPerObject: number, copyTo: string): Promise<WrittenObjects> {
  const written: WrittenObjects = { objects, entries: 0, bytes: 0, storedBytes: 0 };
  for (let i = 0; i < objects; i++) {
    const { texts } = generateKongLogs({ count: entriesPerObject, seed: 2000 + i, startTime: START + i * 3_600_000 });
    const ndjson = Buffer.from(texts.join('\n') + '\n');
    const body = gzipSync(ndjson);
    appendFileSync(copyTo, ndjson);
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}${String(i).padStart(5, '0')}.ndjson.gz`, Body: body }));
    written.entries += texts.length;
    written.bytes += ndjson.length;
    written.storedBytes += body.length;
  }
  return written;
}

/**
 * One object of at least `bytes` of NDJSON (gzip when `gzip`), generated block by block into a
 * multipart upload: memory holds a block of entries and the parts in flight.
 */
export async function uploadLargeObject(client: S3Client, bucket: string, key: string, bytes: number, gzip: boolean): Promise<WrittenObjects> {
  const written: WrittenObjects = { objects: 1, entries: 0, bytes: 0, storedBytes: 0 };
  function* blocks(): Generator<Buffer> {
    for (let block = 0; written.bytes < bytes; block++) {
      const { texts } = generateKongLogs({ count: BLOCK, seed: 5000 + block, startTime: START + block * 3_600_000 });
      const chunk = Buffer.from(texts.join('\n') + '\n');
      written.entries += texts.length;
      written.bytes += chunk.length;
      yield chunk;
    }
  }
  const ndjson = Readable.from(blocks(), { objectMode: false });
  const body = gzip ? ndjson.pipe(createGzip({ level: 1 })) : ndjson;
  await new Upload({ client, params: { Bucket: bucket, Key: key, Body: body }, partSize: 16 * 2 ** 20, queueSize: 2 }).done();
  written.storedBytes = (await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))).ContentLength ?? 0;
  return written;
}
