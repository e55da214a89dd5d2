/**
 * (h) The s3 source: gzip NDJSON objects of Kong log entries on the local S3 server (moto, from the
 * testbed) read into the store by `reflex serve`'s wiring in its own process, beside the read floor
 * (GetObject + gunzip + JSON.parse of the same objects, nothing stored); then one large object read
 * by the s3 source, with its peak RSS.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { emulatorClientConfig, startMoto } from '../testbed/s3.js';
import { runJsonChild } from './json-child.js';
import { num, section, table, verdict, mark, type Verdict } from './report.js';
import { createBucket, putGzipObjects, uploadLargeObject, type WrittenObjects } from './s3-objects.js';

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

export async function s3Section(options: S3SectionOptions): Promise<Verdict> {
  const { out } = options;
  out(section('(h) s3 source: gzip NDJSON objects on a local S3 server into the store'));
  const moto = await startMoto();
  const client = new S3Client(emulatorClientConfig(moto.endpoint));
  try {
    const run = `bench-${Date.now()}`;
    const bucket = await createBucket(client, `${run}-many`);
    const many = await putGzipObjects(client, bucket, 'kong/', options.objects, options.entriesPerObject);
    out(`    moto ${moto.version} at ${moto.endpoint}${moto.reused ? ' (the one npm run testbed started)' : ''}, on this machine: its CPU counts against both sides`);
    out(`    ${num(many.objects)} gzip objects of ${num(options.entriesPerObject)} Kong log entries each (bench/generate.ts), ${mib(many.bytes)} of NDJSON, ${mib(many.storedBytes)} stored`);
    out(`    measured: reflex (startReflex with an s3 source, store sync normal) in its own process, from start until /sources counts`);
    out(`    every object read, each entry through decode, rules, CDC and the store with the checkpoint in its batch's transaction`);
    out(`    floor: @aws-sdk/client-s3 GetObject + gunzip + JSON.parse per line of the same objects, nothing stored, in its own process`);
    const reflex = await runChild('reflex', moto.endpoint, bucket, options);
    const floor = await runChild('floor', moto.endpoint, bucket, options);
    out(table([
      ['', 'entries/s', 'MiB/s (NDJSON)', 'seconds', 'peak RSS', 'entries', 'records', 'dead letters'],
      row('reflex s3 source', reflex, many),
      row('GetObject+gunzip+parse', floor, many),
    ]));
    const ratio = reflex.entries / reflex.seconds / (floor.entries / floor.seconds);
    const v = verdict('(h) s3 source / read floor', ratio >= options.target && reflex.entries === many.entries, `${ratio.toFixed(2)} (target >= ${options.target})`);
    if (reflex.entries !== many.entries) out(`    reflex read ${num(reflex.entries)} of ${num(many.entries)} entries`);
    out(`    ratio: ${ratio.toFixed(2)}  target >= ${options.target}  ${mark(v)}`);

    const largeBucket = await createBucket(client, `${run}-large`);
    const large = await uploadLargeObject(client, largeBucket, 'kong/large.ndjson', options.largeMegabytes * 2 ** 20, false);
    out(`    large object: ${mib(large.storedBytes)} of plain NDJSON (${num(large.entries)} entries), streamed into moto by a multipart upload;`);
    out(`    BENCH_S3_LARGE_MB to change. A reader holding the object whole would need at least its size in RSS.`);
    const largeReflex = await runChild('reflex', moto.endpoint, largeBucket, { ...options, objects: 1 });
    const largeFloor = await runChild('floor', moto.endpoint, largeBucket, { ...options, objects: 1 });
    out(table([
      ['', 'entries/s', 'MiB/s (NDJSON)', 'seconds', 'peak RSS', 'entries', 'records', 'dead letters'],
      row('reflex s3 source', largeReflex, large),
      row('GetObject+parse', largeFloor, large),
    ]));
    out(`    peak RSS reading the large object: ${num(largeReflex.maxRssMiB)} MiB for ${mib(large.storedBytes)} (the many small objects: ${num(reflex.maxRssMiB)} MiB)`);
    return v;
  } finally {
    client.destroy();
    await moto.stop();
  }
}

const mib = (bytes: number) => `${num(bytes / 2 ** 20)} MiB`;

function row(name: string, r: ChildResult, input: WrittenObjects): string[] {
  return [name, num(r.entries / r.seconds), num(input.bytes / 2 ** 20 / r.seconds, 1), r.seconds.toFixed(1), `${num(r.maxRssMiB)} MiB`,
    num(r.entries), r.records === undefined ? '' : num(r.records), r.deadLetters === undefined ? '' : num(r.deadLetters)];
}

function runChild(mode: 'reflex' | 'floor', endpoint: string, bucket: string, options: S3SectionOptions): Promise<ChildResult> {
  return runJsonChild<ChildResult>('s3-child', [mode, endpoint, bucket, 'kong/', String(options.objects), options.tmp]);
}
