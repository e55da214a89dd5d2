import { hash } from 'node:crypto';
import { stringifyDeep } from './json-depth.js';

/** Short, stable content hash (hex) used for deterministic ids. One-shot `hash` avoids a Hash object per call. */
export function hashHex(text: string, length = 32): string {
  return hash('sha256', text, 'hex').slice(0, length);
}

/** Hash of a parsed JSON value's text; a value too deep for JSON.stringify is serialized without recursion. */
export function hashJson(value: unknown, length = 32): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    text = stringifyDeep(value);
  }
  return hashHex(text ?? 'undefined', length);
}
