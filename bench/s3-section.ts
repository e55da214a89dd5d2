/**
 * (h) The s3 source: gzip NDJSON objects of Kong log entries on the local S3 server (moto, from the
 * testbed) read into the store by `reflex serve`'s wiring in its own process, beside the read floor
 * (GetObject + gunzip + JSON.parse of the same objects, nothing stored) and a file source reading
 * the same NDJSON (what the pipeline costs without S3); then one large object read by the s3
 * source, with its peak RSS.
 */
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { emulatorClientConfig, startMoto, type MotoTestbed } from '../testbed/s3.js';
import { runJsonChild } from './json-child.js';
import { mark, num, section, table, verdict, type Verdict } from './report.js';
import { createBucket, deleteBucket, putGzipObjects, uploadLargeObject, type WrittenObjects } from './s3-objects.js';

export interface S3SectionOptions {
  tmp: string;
  out: (line?: string) => void;
  objects: number;
  entriesPerObject: number;
  /** Size of the large object, MiB (plain NDJSON: the object's size in S3). */
  largeMegabytes: number;
  target: number;
}

interface ChildResult { entries: number; seconds: number; maxRssMiB: number; records?: number; deadLetters?: number }

const PREFIX = 'kong/';
const HEADER = ['', 'entries/s', 'MiB/s (NDJSON)', 'seconds', 'peak RSS', 'entries', 'records', 'dead letters'];

export async function s3Section(options: S3SectionOptions): Promise<Verdict> {
  const { out } = options;
  out(section('(h) s3 source: gzip NDJSON objects on a local S3 server into the store'));
  const moto = await startMoto();
  const client = new S3Client(emulatorClientConfig(moto.endpoint));
  const buckets: string[] = [];
  try {
    const run = `bench-${Date.now()}`;
    const bucket = await createBucket(client, `${run}-many`);
    buckets.push(bucket);
    const { v, peakRssMiB } = await manyObjects(moto, client, bucket, options);
    const largeBucket = await createBucket(client, `${run}-large`);
    buckets.push(largeBucket);
    await largeObject(moto, client, largeBucket, options, peakRssMiB);
    return v;
  } finally {
    for (const b of buckets) await deleteBucket(client, b).catch(() => undefined);
    client.destroy();
    await moto.stop();
  }
}

async function manyObjects(moto: MotoTestbed, client: S3Client, bucket: string, options: S3SectionOptions): Promise<{ v: Verdict; peakRssMiB: number }> {
  const { out } = options;
  const file = join(options.tmp, 's3-objects.ndjson');
  const many = await putGzipObjects(client, bucket, PREFIX, options.objects, options.entriesPerObject, file);
  out(`    moto ${moto.version} at ${moto.endpoint}${moto.reused ? ' (the one npm run testbed started)' : ''}, on this machine: its CPU counts against every row`);
  out(`    ${num(many.objects)} gzip objects of ${num(options.entriesPerObject)} Kong log entries each (bench/generate.ts), ${mib(many.bytes)} of NDJSON, ${mib(many.storedBytes)} stored`);
  out(`    measured: reflex (startReflex with an s3 source, store sync normal) in its own process, from start until /sources counts`);
  out(`    every object read, each entry through decode, rules, CDC and the store with the checkpoint in its batch's transaction`);
  out(`    floor: @aws-sdk/client-s3 GetObject + gunzip + JSON.parse per line of the same objects, nothing stored, in its own process`);
  out(`    for reference: the same NDJSON in one local file read by a file source (follow: false), as in (g): the pipeline without S3`);
  const reflex = await runChild('reflex', moto.endpoint, bucket, options.objects, options.tmp);
  const fromFile = await runJsonChild<ChildResult & { lines: number }>('file-backlog-child', ['reflex', file, options.tmp]);
  const floor = await runChild('floor', moto.endpoint, bucket, options.objects, options.tmp);
  out(table([
    HEADER,
    row('reflex s3 source', reflex, many),
    row('reflex file source', { ...fromFile, entries: fromFile.lines }, many),
    row('GetObject+gunzip+parse', floor, many),
  ]));
  if (reflex.entries !== many.entries) out(`    reflex read ${num(reflex.entries)} of ${num(many.entries)} entries`);
  const ratio = rate(reflex) / rate(floor);
  const v = verdict('(h) s3 source / read floor', ratio >= options.target && reflex.entries === many.entries, `${ratio.toFixed(2)} (target >= ${options.target})`);
  out(`    s3 source / file source: ${(rate(reflex) / (fromFile.lines / fromFile.seconds)).toFixed(2)} (what reading from S3 costs beside the pipeline)`);
  out(`    ratio to the floor: ${ratio.toFixed(2)}  target >= ${options.target}  ${mark(v)}`);
  return { v, peakRssMiB: reflex.maxRssMiB };
}

async function largeObject(moto: MotoTestbed, client: S3Client, bucket: string, options: S3SectionOptions, manyRssMiB: number): Promise<void> {
  const { out } = options;
  const large = await uploadLargeObject(client, bucket, `${PREFIX}large.ndjson`, options.largeMegabytes * 2 ** 20, false);
  out(`    large object: ${mib(large.storedBytes)} of plain NDJSON (${num(large.entries)} entries), streamed into moto by a multipart upload`);
  out(`    (BENCH_S3_LARGE_MB to change), read by the s3 source as above; a reader holding it whole would need at least its size in RSS`);
  const reflex = await runChild('reflex', moto.endpoint, bucket, 1, options.tmp);
  const floor = await runChild('floor', moto.endpoint, bucket, 1, options.tmp);
  out(table([HEADER, row('reflex s3 source', reflex, large), row('GetObject+parse', floor, large)]));
  out(`    peak RSS of reflex reading the ${mib(large.storedBytes)} object: ${num(reflex.maxRssMiB)} MiB (the ${num(options.objects)} small objects above: ${num(manyRssMiB)} MiB)`);
}

const mib = (bytes: number) => `${num(bytes / 2 ** 20)} MiB`;
const rate = (r: ChildResult) => r.entries / r.seconds;

function row(name: string, r: ChildResult, input: WrittenObjects): string[] {
  return [name, num(rate(r)), num(input.bytes / 2 ** 20 / r.seconds, 1), r.seconds.toFixed(1), `${num(r.maxRssMiB)} MiB`,
    num(r.entries), r.records === undefined ? '' : num(r.records), r.deadLetters === undefined ? '' : num(r.deadLetters)];
}

function runChild(mode: 'reflex' | 'floor', endpoint: string, bucket: string, objects: number, tmp: string): Promise<ChildResult> {
  return runJsonChild<ChildResult>('s3-child', [mode, endpoint, bucket, PREFIX, String(objects), tmp]);
}
