import { brotliCompressSync, brotliDecompressSync, constants, inflateRawSync } from 'node:zlib';

/**
 * A block: records of one stream appended in one transaction, stored as one row of `record_blocks`
 * (like Kafka's record batches): one INSERT and one index entry instead of one per record, and
 * the JSON of many similar records compressed together (about 6× on our events and change records).
 *
 * Body, before compression: per record a 12-byte header (uint32 LE: offset minus the previous
 * record's offset, or minus `first_offset - 1` for the first; key length in bytes + 1, 0 for a
 * null key; value length in bytes), then the key and the value as UTF-8. Length-prefixed, so
 * keys and values may hold any character.
 */
export interface RecordBlock {
  firstOffset: number;
  lastOffset: number;
  /** Offsets in increasing order (contiguous in practice; a rolled-back savepoint can leave a gap). */
  offsets: number[];
  keys: Array<string | null>;
  /** Each record's value as stored JSON text. */
  values: string[];
}

/**
 * How a body is stored: as it is, raw deflate (written by the first builds of this format, read
 * still), or brotli at quality 0. Measured on the blocks of bench (d)'s workload: brotli q0 ratio
 * 6.1 at ~520 MB/s, deflate level 1 ratio 6.9 at ~360 MB/s, level 2 7.8 at the same speed: the
 * ratio is well inside the disk target either way, and compression was ~9% of ingest's thread.
 */
export const CODEC_PLAIN = 0;
export const CODEC_DEFLATE = 1;
export const CODEC_BROTLI = 2;
const BROTLI_FASTEST = { params: { [constants.BROTLI_PARAM_QUALITY]: 0 } };

const HEADER = 12;
let scratch = Buffer.allocUnsafe(1 << 16);

/** The body of `records` (offsets increasing) and its codec; a body that compression does not shrink is stored plain. */
export function encodeBlock(firstOffset: number, offsets: readonly number[], keys: ReadonlyArray<string | null>, values: readonly string[]): { codec: number; body: Buffer } {
  let bound = 0;
  for (let i = 0; i < values.length; i++) bound += HEADER + 3 * ((keys[i]?.length ?? 0) + values[i]!.length);
  if (scratch.length < bound) scratch = Buffer.allocUnsafe(Math.max(bound, scratch.length * 2));
  const buf = scratch;
  let pos = 0;
  let previous = firstOffset - 1;
  for (let i = 0; i < values.length; i++) {
    const key = keys[i];
    const head = pos;
    pos += HEADER;
    const keyBytes = key === null || key === undefined ? -1 : buf.write(key, pos, 'utf8');
    if (keyBytes > 0) pos += keyBytes;
    const valueBytes = buf.write(values[i]!, pos, 'utf8');
    pos += valueBytes;
    buf.writeUInt32LE(offsets[i]! - previous, head);
    buf.writeUInt32LE(keyBytes + 1, head + 4);
    buf.writeUInt32LE(valueBytes, head + 8);
    previous = offsets[i]!;
  }
  const raw = buf.subarray(0, pos);
  const compressed = brotliCompressSync(raw, { params: { ...BROTLI_FASTEST.params, [constants.BROTLI_PARAM_SIZE_HINT]: raw.length } });
  return compressed.length < raw.length ? { codec: CODEC_BROTLI, body: compressed } : { codec: CODEC_PLAIN, body: Buffer.from(raw) };
}

/** The records of a stored block; `where` names the block in the error a damaged body gives. */
export function decodeBlock(firstOffset: number, codec: number, body: Buffer, where: string): RecordBlock {
  let raw: Buffer;
  if (codec === CODEC_PLAIN) raw = body;
  else if (codec === CODEC_BROTLI) raw = brotliDecompressSync(body);
  else if (codec === CODEC_DEFLATE) raw = inflateRawSync(body);
  else throw new Error(`${where}: unknown codec ${codec} (written by a newer reflex?)`);
  const offsets: number[] = [];
  const keys: Array<string | null> = [];
  const values: string[] = [];
  let pos = 0;
  let offset = firstOffset - 1;
  while (pos < raw.length) {
    if (pos + HEADER > raw.length) throw new Error(`${where}: body cut short at byte ${pos}`);
    offset += raw.readUInt32LE(pos);
    const keyLength = raw.readUInt32LE(pos + 4) - 1;
    const valueLength = raw.readUInt32LE(pos + 8);
    pos += HEADER;
    const end = pos + Math.max(keyLength, 0) + valueLength;
    if (end > raw.length) throw new Error(`${where}: record at offset ${offset} runs past the body`);
    keys.push(keyLength < 0 ? null : raw.toString('utf8', pos, pos + keyLength));
    pos += Math.max(keyLength, 0);
    values.push(raw.toString('utf8', pos, pos + valueLength));
    pos += valueLength;
    offsets.push(offset);
  }
  return { firstOffset: offsets[0] ?? firstOffset, lastOffset: offset, offsets, keys, values };
}

/** The index of the first record of `block` past `afterOffset` (block.offsets.length when none is). */
export function firstIndexAfter(block: RecordBlock, afterOffset: number): number {
  const o = block.offsets;
  if (afterOffset < block.firstOffset) return 0;
  // Contiguous blocks (the usual case) need no search.
  const guess = afterOffset - block.firstOffset + 1;
  if (guess < o.length && o[guess]! > afterOffset && o[guess - 1]! <= afterOffset) return guess;
  let lo = 0;
  let hi = o.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (o[mid]! <= afterOffset) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
