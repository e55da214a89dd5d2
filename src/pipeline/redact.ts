import type { Exchange } from '../model/exchange.js';
import type { RedactPath } from '../spec/types.js';

export const REDACTED = '[redacted]';

/** Redacted unless the spec says otherwise: credentials that gateways log in plain text. */
export const DEFAULT_REDACT: RedactPath[] = [
  ['request', 'headers', 'authorization'],
  ['request', 'headers', 'proxy-authorization'],
  ['request', 'headers', 'cookie'],
  ['request', 'headers', 'x-api-key'],
  ['response', 'headers', 'set-cookie'],
];

/** Replaces each present value at the given paths in place; applied before any rule sees the exchange. */
export function redact(exchange: Exchange, paths: readonly RedactPath[]): void {
  for (const path of paths) {
    let node: unknown = exchange;
    const last = path.length - 1;
    for (let i = 0; i < last && node !== null && typeof node === 'object'; i++) {
      node = (node as Record<string, unknown>)[path[i]!];
    }
    if (node !== null && typeof node === 'object') {
      const field = path[last]!;
      if (Array.isArray(node)) {
        for (const item of node) {
          if (item && typeof item === 'object' && field in item) (item as Record<string, unknown>)[field] = REDACTED;
        }
      } else if (field in node) {
        (node as Record<string, unknown>)[field] = REDACTED;
      }
    }
  }
}
