import { createHash } from 'node:crypto';

/** Short, stable content hash (hex) used for deterministic ids. */
export function hashHex(text: string, length = 32): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}
