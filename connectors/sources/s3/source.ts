import { defineSource, parseDuration, pollLoop, type SourceProgress } from '../../../src/sdk/index.js';
import { describeS3Error, s3Client } from './client.js';
import { objectReader } from './object-reader.js';
import { ReadState, type ListedObject } from './read-state.js';
import { S3SourceConfig } from './schema.js';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';

/** Retries after a failure wait 1 s, doubling up to this. */
const MAX_BACKOFF_MS = 60_000;

/**
 * Reads gateway logs that land in a bucket (Firehose, Vector, Fluent Bit): lists the prefix in key
 * order, streams each object (gzip by `.gz` or Content-Encoding) and splits it into NDJSON lines or
 * back-to-back JSON objects. The checkpoint (object, ETag, position in it, and the keys read within
 * the lookback) commits with each batch, so a crash resumes mid-object with nothing lost or twice.
 */
export const s3Source = defineSource({
  type: 's3',
  summary: 'reads gateway logs from objects in an S3 bucket (plain, gzip, concatenated JSON), exactly once',
  config: S3SourceConfig,
  name: { text: 's3:<bucket>/<prefix>', of: (config) => `s3:${config.bucket}/${config.prefix}` },
  format: 'each line (or JSON object) of every object',
  create(config, ctx) {
    const client = s3Client(config);
    const pollMs = parseDuration(config.pollInterval)!;
    const lookbackMs = parseDuration(config.lookback)!;
    const where = `s3://${config.bucket}/${config.prefix}`;
    const progress = { objects: 0, bytes: 0, lastKey: undefined as string | undefined, lastModified: undefined as number | undefined, left: undefined as number | undefined };
    const read = objectReader({ client, ctx, bucket: config.bucket, batchEntries: config.batchEntries, maxLineBytes: config.maxLineBytes, onBytes: (n) => (progress.bytes += n) });
    let started = false;
    /** Reading objects of a listing (catching up); false once the listing is done. */
    let busy = false;
    let loop: Promise<void> | undefined;

    /** One listing from the checkpoint's floor to the end, reading every object the state says to. */
    async function pass(): Promise<void> {
      // The store's checkpoint, not memory: after a failed commit the state in memory ran ahead of it.
      const state = new ReadState(ctx.getCheckpoint(), lookbackMs, config.startAfter ?? '');
      let token: string | undefined;
      do {
        const page = await client.send(new ListObjectsV2Command({
          Bucket: config.bucket,
          ...(config.prefix ? { Prefix: config.prefix } : {}),
          ...(token ? { ContinuationToken: token } : state.listFrom ? { StartAfter: state.listFrom } : {}),
        }), { abortSignal: ctx.signal });
        const objects: ListedObject[] = (page.Contents ?? []).map((o) => ({ key: o.Key!, etag: o.ETag ?? '', size: o.Size ?? 0, lastModified: o.LastModified?.getTime() ?? 0 }));
        for (let i = 0; i < objects.length; i++) {
          const o = objects[i]!;
          const decision = state.decide(o);
          if (!decision.read) continue;
          progress.left = page.IsTruncated ? undefined : objects.length - i;
          if (decision.why === 'late' || decision.why === 'replaced') ctx.logger.info(`reading ${decision.why === 'late' ? 'a late object' : 'a replaced object again'}`, { key: o.key, etag: o.etag });
          if (decision.why === 'resume') ctx.logger.info('resuming mid-object', { key: o.key, byte: decision.from.byte, line: decision.from.line });
          busy = true;
          await read(o, decision, state);
          progress.objects++;
          progress.lastKey = o.key;
          progress.lastModified = o.lastModified;
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token && !ctx.signal.aborted);
      progress.left = 0;
      busy = false;
    }

    const poll = pollLoop({
      signal: ctx.signal, logger: ctx.logger, pollMs, maxBackoffMs: MAX_BACKOFF_MS, pass, describe: describeS3Error,
      what: where, fields: { bucket: config.bucket, prefix: config.prefix }, onFailure: () => (busy = false),
    });

    function status(): SourceProgress {
      const behind = busy && !poll.failing;
      const state = poll.failing ? 'degraded' : !started ? 'stopped' : behind ? 'catching-up' : 'idle';
      const positionTime = progress.lastModified !== undefined ? new Date(progress.lastModified).toISOString() : undefined;
      return {
        state,
        position: { bucket: config.bucket, prefix: config.prefix, key: progress.lastKey ?? null },
        ...(positionTime ? { positionTime } : {}),
        lagSeconds: behind && progress.lastModified !== undefined ? Math.max(0, Math.round((Date.now() - progress.lastModified) / 1000)) : 0,
        read: { objects: progress.objects, bytes: progress.bytes },
        ...(progress.left !== undefined ? { remaining: { objects: progress.left } } : {}),
        ...(poll.lastError ? { lastError: poll.lastError } : {}),
      };
    }

    return {
      async start() {
        started = true;
        loop = poll.run();
      },
      async stop() {
        await loop;
        started = false;
        client.destroy();
      },
      status,
    };
  },
});
