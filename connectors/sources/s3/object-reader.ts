import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { SourceContext } from '../../../src/sdk/index.js';
import { decodeLine } from '../file/line-entries.js';
import { EntrySplitter, type EntryItem } from './entry-splitter.js';
import type { Decision, ListedObject, ReadState } from './read-state.js';

/** A batch is committed at this many bytes of entries too, so big entries do not pile up. */
const BATCH_BYTES = 4 * 1024 * 1024;

export interface ObjectReaderOptions {
  client: S3Client;
  ctx: SourceContext;
  bucket: string;
  batchEntries: number;
  maxLineBytes: number;
  /** Bytes read from S3 (as stored: compressed for gzip). */
  onBytes(n: number): void;
}

/**
 * Reads one object as a stream and commits its entries in batches, each with the checkpoint of
 * its position; the last batch passes the object. Memory holds one batch, whatever the object's
 * size. A plain object resumes with a ranged GET; a gzip one is read again from the start and the
 * decompressed bytes before the checkpoint are skipped. `IfMatch` pins the listed ETag: an object
 * replaced meanwhile fails the GET, and the next listing reads the new one from the start.
 */
export function objectReader(options: ObjectReaderOptions) {
  const { client, ctx, bucket, batchEntries, maxLineBytes } = options;
  const format = ctx.format!;

  return async function readObject(o: ListedObject, decision: Decision & { read: true }, state: ReadState): Promise<void> {
    const ranged = decision.from.byte > 0 && decision.gzip === false;
    const res = await client.send(new GetObjectCommand({
      Bucket: bucket, Key: o.key, IfMatch: o.etag,
      ...(ranged ? { Range: `bytes=${decision.from.byte}-` } : {}),
    }), { abortSignal: ctx.signal });
    const body = res.Body as Readable;
    const gzip = o.key.endsWith('.gz') || /gzip/i.test(res.ContentEncoding ?? '');
    body.on('data', (chunk: Buffer) => options.onBytes(chunk.length));
    const gunzip = gzip ? createGunzip() : undefined;
    const stream: Readable = gunzip ?? body;
    // Errors of either end reach the loop below through the gunzip stream.
    const piping = gunzip ? pipeline(body, gunzip).catch(() => undefined) : undefined;
    const splitter = new EntrySplitter(maxLineBytes, decision.from, ranged ? decision.from.byte : 0);
    const file = `s3://${bucket}/${o.key}`;

    const commit = async (items: EntryItem[], last: boolean) => {
      const entries = items.flatMap((item) => decodeLine(format, file, item, maxLineBytes));
      const end = items.at(-1);
      const checkpoint = last ? state.finished(o) : state.progress(o, { byte: end!.next, line: end!.nextLine }, gzip);
      await ctx.ingest(entries, { checkpoint });
    };

    let batch: EntryItem[] = [];
    let batchBytes = 0;
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        for (const item of splitter.push(chunk)) {
          batch.push(item);
          batchBytes += item.next - item.start;
          if (batch.length >= batchEntries || batchBytes >= BATCH_BYTES) {
            await commit(batch, false);
            batch = [];
            batchBytes = 0;
          }
        }
      }
      batch.push(...splitter.end());
      await commit(batch, true);
    } finally {
      body.destroy();
      stream.destroy();
      await piping;
    }
  };
}
