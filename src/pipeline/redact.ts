import type { Exchange } from '../model/exchange.js';
import { decodeBase64Body } from '../model/body.js';
import { deeperThan, truncateDepth } from '../model/json-depth.js';
import { parseJsonExact } from '../model/json-exact.js';
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

/**
 * Replaces each present value at the given paths in place; applied before any rule sees the exchange.
 * An array anywhere on a path applies the rest of the path to each item, so
 * `request.body.card.number` also finds the cards of `[{card: …}, {card: …}]`.
 */
export function redact(exchange: Exchange, paths: readonly RedactPath[]): void {
  for (const path of paths) redactAt(exchange, path, 0);
}

function redactAt(node: unknown, path: RedactPath, i: number): void {
  if (node === null || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    for (const item of node) redactAt(item, path, i);
    return;
  }
  const obj = node as Record<string, unknown>;
  const field = path[i]!;
  if (!Object.prototype.hasOwnProperty.call(obj, field)) return;
  if (i === path.length - 1) obj[field] = REDACTED;
  else redactAt(obj[field], path, i + 1);
}

/**
 * What a dead letter may keep of a log entry that could not become an Exchange: a copy bounded to
 * `maxDepth` levels, with credential headers redacted wherever a headers object sits (Kong's
 * `request.headers`, Envoy's `requestHeaders`, any case of the name) and the spec's paths applied
 * as they apply to an Exchange, into bodies logged as JSON text (or base64) too.
 */
export function redactRaw(raw: unknown, paths: readonly RedactPath[], maxDepth: number): unknown {
  const copy = truncateDepth(raw, maxDepth);
  const headerNames = new Set<string>();
  for (const p of paths) if (p.length === 3 && p[1] === 'headers') headerNames.add(p[2]!.toLowerCase());
  redactHeaders(copy, headerNames, false, maxDepth);
  for (const path of paths) {
    redactAt(copy, path, 0);
    if (path[1] === 'body' && path.length > 2 && copy !== null && typeof copy === 'object') redactBodyText(copy as Record<string, unknown>, path, maxDepth);
  }
  return copy;
}

function redactHeaders(node: unknown, names: ReadonlySet<string>, inHeaders: boolean, depth: number): void {
  if (node === null || typeof node !== 'object' || depth < 0) return;
  if (Array.isArray(node)) {
    for (const item of node) redactHeaders(item, names, false, depth - 1);
    return;
  }
  const obj = node as Record<string, unknown>;
  for (const k of Object.keys(obj)) {
    if (inHeaders && names.has(k.toLowerCase())) obj[k] = REDACTED;
    else redactHeaders(obj[k], names, /headers$/i.test(k), depth - 1);
  }
}

/** `request.body…` when the raw entry carries the body as JSON text or base64: parsed, redacted, written back. */
function redactBodyText(raw: Record<string, unknown>, path: RedactPath, maxDepth: number): void {
  const part = raw[path[0]!];
  if (part === null || typeof part !== 'object' || Array.isArray(part)) return;
  const p = part as Record<string, unknown>;
  for (const field of ['body', 'body_base64'] as const) {
    const text = p[field];
    if (typeof text !== 'string') continue;
    let parsed: unknown;
    try {
      parsed = parseJsonExact(field === 'body' ? text : decodeBase64Body(text));
    } catch {
      continue;
    }
    if (parsed === null || typeof parsed !== 'object' || deeperThan(parsed, maxDepth)) continue;
    const before = JSON.stringify(parsed);
    const holder = { body: parsed };
    redactAt(holder, ['body', ...path.slice(2)], 0);
    const out = JSON.stringify(holder.body);
    if (out !== before) p[field] = field === 'body' ? out : Buffer.from(out, 'utf8').toString('base64');
  }
}
