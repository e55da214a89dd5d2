/**
 * kafkajs's Record encoder (protocol/recordBatch/record/v0), the same bytes at a fraction of the
 * cost. kafkajs allocates a zero-filled 512-byte Encoder per record and another per header, and a
 * Buffer per varint: with the ten ce_* headers of a binary-mode event that was about a third of the
 * producer thread's CPU, and most of its garbage (bench e). This one sizes the record first and
 * writes it into one buffer.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const RECORD_MODULE = require.resolve('kafkajs/src/protocol/recordBatch/record/v0/index.js');

interface EncoderLike { buf: Buffer; offset: number }
type Bytes = Buffer | string | null | undefined;
export interface RecordInput {
  offsetDelta?: number;
  timestampDelta?: number;
  key?: Bytes;
  value?: Bytes;
  headers?: Record<string, Bytes | Bytes[]>;
}
type RecordEncoder = (record: RecordInput) => EncoderLike;

const Encoder = require('kafkajs/src/protocol/encoder.js') as { prototype: object };

let original: RecordEncoder | null = null;

/** kafkajs's own encoder, for records this one does not take (and for the tests). */
export function originalRecordEncoder(): RecordEncoder {
  original ??= require(RECORD_MODULE) as RecordEncoder;
  return original;
}

/**
 * Puts encodeRecord in kafkajs's place. Must run before kafkajs is loaded in this thread (its
 * RecordBatch keeps the encoder it required); returns false, changing nothing, when it was already.
 */
export function installRecordEncoder(): boolean {
  const loaded = require.cache[RECORD_MODULE];
  if (loaded) return loaded.exports === encodeRecord;
  originalRecordEncoder();
  require.cache[RECORD_MODULE]!.exports = encodeRecord;
  return true;
}

const zigzag = (v: number) => ((v << 1) ^ (v >> 31)) >>> 0;

function uvarintSize(u: number): number {
  let n = 1;
  while (u >= 0x80) {
    u >>>= 7;
    n++;
  }
  return n;
}

/** A header's or key's bytes as kafkajs sizes and writes them: a Buffer as is, anything else as UTF-8 text. */
const byteLength = (v: Buffer | string) => (Buffer.isBuffer(v) ? v.length : Buffer.byteLength(v, 'utf8'));

export function encodeRecord(record: RecordInput): EncoderLike {
  const { offsetDelta = 0, timestampDelta = 0, key, value, headers = {} } = record;
  // Outside the simple cases (a delta beyond int32 or not an integer, values that are neither text,
  // bytes nor null) kafkajs's own encoder decides.
  if (!isInt32(offsetDelta) || !isInt32(timestampDelta) || !plain(key) || !plain(value)) return originalRecordEncoder()(record);
  const headerKeys: string[] = [];
  const headerValues: Array<Buffer | string> = [];
  for (const name in headers) {
    const v = headers[name];
    for (const one of Array.isArray(v) ? v : [v]) {
      // kafkajs sizes a header value with Buffer.byteLength, which throws on null: keep its behaviour.
      if (one === null || one === undefined || !plain(one)) return originalRecordEncoder()(record);
      headerKeys.push(name);
      headerValues.push(typeof one === 'string' || Buffer.isBuffer(one) ? one : String(one));
    }
  }
  const keyText = key === null || key === undefined ? null : key;
  const valueText = value === null || value === undefined ? null : value;
  const keyLength = keyText === null ? -1 : byteLength(keyText);
  const valueLength = valueText === null ? -1 : byteLength(valueText);
  let body = 1 + uvarintSize(zigzag(timestampDelta)) + uvarintSize(zigzag(offsetDelta))
    + bytesSize(keyLength) + bytesSize(valueLength) + uvarintSize(zigzag(headerKeys.length));
  const keyLengths: number[] = [];
  const valueLengths: number[] = [];
  for (let i = 0; i < headerKeys.length; i++) {
    keyLengths.push(Buffer.byteLength(headerKeys[i]!, 'utf8'));
    valueLengths.push(byteLength(headerValues[i]!));
    body += bytesSize(keyLengths[i]!) + bytesSize(valueLengths[i]!);
  }
  const buf = Buffer.allocUnsafe(uvarintSize(zigzag(body)) + body);
  let at = writeVarInt(buf, 0, body);
  buf[at++] = 0; // attributes: none used
  at = writeVarInt(buf, at, timestampDelta);
  at = writeVarInt(buf, at, offsetDelta);
  at = writeBytes(buf, at, keyText, keyLength);
  at = writeBytes(buf, at, valueText, valueLength);
  at = writeVarInt(buf, at, headerKeys.length);
  for (let i = 0; i < headerKeys.length; i++) {
    at = writeBytes(buf, at, headerKeys[i]!, keyLengths[i]!);
    at = writeBytes(buf, at, headerValues[i]!, valueLengths[i]!);
  }
  // kafkajs takes any object with its Encoder's methods and a Buffer `buf` (writeEncoderArray checks that).
  const encoder = Object.create(Encoder.prototype) as EncoderLike;
  encoder.buf = buf;
  encoder.offset = at;
  return encoder;
}

const isInt32 = (n: number) => Number.isInteger(n) && n >= -0x80000000 && n <= 0x7fffffff;
const plain = (v: unknown) => v === null || v === undefined || typeof v === 'string' || Buffer.isBuffer(v);
const bytesSize = (length: number) => (length < 0 ? uvarintSize(zigzag(-1)) : uvarintSize(zigzag(length)) + length);

/**
 * A zigzag varint (kafkajs writes a varlong of a small value the same way: zigzag 64 of an int32
 * has the same bytes as zigzag 32).
 */
function writeVarInt(buf: Buffer, at: number, v: number): number {
  let u = zigzag(v);
  while (u >= 0x80) {
    buf[at++] = (u & 0x7f) | 0x80;
    u >>>= 7;
  }
  buf[at++] = u;
  return at;
}

function writeBytes(buf: Buffer, at: number, v: Buffer | string | null, length: number): number {
  at = writeVarInt(buf, at, length);
  if (v === null) return at;
  if (typeof v === 'string') buf.write(v, at, length, 'utf8');
  else v.copy(buf, at);
  return at + length;
}
