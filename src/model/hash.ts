import { hash } from 'node:crypto';

/** Short, stable content hash (hex) used for deterministic ids. One-shot `hash` avoids a Hash object per call. */
export function hashHex(text: string, length = 32): string {
  return hash('sha256', text, 'hex').slice(0, length);
}
