import type { HeaderMap } from './exchange.js';
import { setOwn } from './json-depth.js';
import { escapePointerToken } from './json-pointer.js';
import { EntryError, describe } from '../sources/entry-errors.js';
import { CODES } from '../codes.js';

/**
 * Lower-cases names and joins repeated values (arrays) with ", " as HTTP does. A value that is not
 * text, a number, a boolean or a list of those (an object, say) is refused with its JSON pointer
 * under `pointer`: converting it to text could throw or run its `toString`.
 */
export function normalizeHeaders(raw: unknown, pointer = '/headers'): HeaderMap {
  const out: HeaderMap = {};
  if (!raw || typeof raw !== 'object') return out;
  const headers = raw as Record<string, unknown>;
  // for...in without Object.entries: this runs for every header of every exchange.
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || value === null) continue;
    const text = typeof value === 'string' ? value : Array.isArray(value) ? listText(value, pointer, name) : scalarText(value, pointer, name);
    setOwn(out as Record<string, unknown>, name.toLowerCase(), text);
  }
  return out;
}

function listText(values: unknown[], pointer: string, name: string): string {
  let out = '';
  let first = true;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined) continue;
    out += (first ? '' : ', ') + scalarText(v, pointer, name, i);
    first = false;
  }
  return out;
}

/** Text of a header or query value: strings, numbers and booleans only. */
export function scalarText(value: unknown, pointer: string, name: string, index?: number): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  const at = `${pointer}/${escapePointerToken(name)}${index !== undefined ? `/${index}` : ''}`;
  throw new EntryError(CODES.entryFieldType, `${at} must be a string, a number or a list of them, got ${describe(value)}`, at);
}

