import type { Diagnostic } from '../model/diagnostic.js';
import type { Exchange } from '../model/exchange.js';
import { hashJson } from '../model/hash.js';
import type { DecodedEntry } from './types.js';
import { CODES } from '../codes.js';
import { ReflexError } from '../errors.js';

type EntryCode = typeof CODES.entryNotObject | typeof CODES.entryFieldMissing | typeof CODES.entryFieldType;

/**
 * A log entry that parses but cannot become an Exchange (it goes to the dead letters); anything
 * else thrown while reading one entry is RX300 (entryUnreadable).
 */
export class EntryError extends ReflexError {
  declare readonly code: EntryCode;
  /** JSON pointer of the offending field inside the entry. */
  declare readonly pointer: string;
  constructor(code: EntryCode, message: string, pointer: string) {
    super(code, message, { status: 400, pointer });
  }
}

export function entryDiagnostic(err: unknown, where: { file?: string; prefix: string; line?: number }): Diagnostic {
  if (err instanceof EntryError) {
    return {
      code: err.code,
      severity: 'error',
      message: err.message,
      pointer: where.prefix + err.pointer,
      ...(where.file ? { file: where.file } : {}),
      ...(where.line !== undefined ? { line: where.line } : {}),
    };
  }
  return {
    code: CODES.entryUnreadable,
    severity: 'error',
    message: `cannot read log entry: ${String((err as Error)?.message ?? err).split('\n')[0]}`,
    pointer: where.prefix,
    ...(where.file ? { file: where.file } : {}),
    ...(where.line !== undefined ? { line: where.line } : {}),
  };
}

/**
 * One raw log entry to a DecodedEntry. Whatever goes wrong while reading it (a wrong field, or any
 * exception at all) makes this entry a dead letter, never the whole payload's failure.
 * `gateway` prefixes the request key of an unreadable entry (a hash of the entry).
 */
export function decodeWith(
  raw: unknown,
  where: { file?: string; prefix: string; line?: number },
  gateway: string,
  convert: (raw: unknown) => Exchange,
): DecodedEntry {
  try {
    const entry: DecodedEntry = { ok: true, exchange: convert(raw), raw, pointer: where.prefix };
    if (where.line !== undefined) entry.line = where.line;
    return entry;
  } catch (err) {
    return { ok: false, diagnostic: entryDiagnostic(err, where), raw, requestKey: `${gateway}:raw:${hashJson(raw)}` };
  }
}

type Obj = Record<string, unknown>;

export function asObject(value: unknown, pointer: string): Obj {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new EntryError(value === undefined ? CODES.entryFieldMissing : CODES.entryFieldType, `${pointer || 'entry'} must be an object, got ${describe(value)}`, pointer);
  }
  return value as Obj;
}

export function requiredString(obj: Obj, field: string, pointer: string): string {
  const v = obj[field];
  if (typeof v === 'string' && v.length > 0) return v;
  if (v === undefined || v === null || v === '') throw new EntryError(CODES.entryFieldMissing, `${pointer}/${field} is required`, `${pointer}/${field}`);
  throw new EntryError(CODES.entryFieldType, `${pointer}/${field} must be a string, got ${describe(v)}`, `${pointer}/${field}`);
}

export function optionalString(obj: Obj, field: string): string | null {
  const v = obj[field];
  return typeof v === 'string' && v.length > 0 ? v : typeof v === 'number' ? String(v) : null;
}

/** HTTP status: an integer 100..599, or a numeric string (some gateways log it as text). */
export function requiredStatus(obj: Obj, field: string, pointer: string): number {
  const v = obj[field];
  const n = typeof v === 'string' && /^\d{3}$/.test(v) ? Number(v) : v;
  if (typeof n === 'number' && Number.isInteger(n) && n >= 100 && n <= 599) return n;
  if (v === undefined || v === null) throw new EntryError(CODES.entryFieldMissing, `${pointer}/${field} is required`, `${pointer}/${field}`);
  throw new EntryError(CODES.entryFieldType, `${pointer}/${field} must be an HTTP status code (100-599), got ${describe(v)}`, `${pointer}/${field}`);
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `"${value.length > 40 ? value.slice(0, 40) + '…' : value}"`;
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}
