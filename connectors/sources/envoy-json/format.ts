import { asObject, CODES, decodeWith, DEFAULT_JSON_DEPTH, describe, EntryError, hashJson, normalizeBody, parseNdjson, parseRfc3339, requiredStatus, type DecodedEntry, type DecodeOptions, type Exchange, type HeaderMap, type LogFormat } from '../../../src/sdk/index.js';
import { parseQuery } from '../envoy-als/normalize.js';

/**
 * Envoy's JSON file access log (`log_format.json_format`), one object per line. The keys are the
 * operator's choice; these are read (the first of each list that is logged):
 *
 *  - Envoy Gateway's default format: `start_time`, `method`, `x-envoy-origin-path`
 *    (`%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%`), `response_code`, `duration`, `x-request-id`,
 *    `:authority`, `user-agent`, `x-forwarded-for`, `downstream_remote_address`, `upstream_cluster`,
 *    `route_name`; Istio's spellings (`path`, `authority`, `request_id`, `user_agent`, ...) too.
 *  - What plugins/envoy/README.md adds: `:path` (`%REQ(:PATH)%`, the path after a prefix rewrite),
 *    `content-type` / `response-content-type`, and the Lua filter's bodies, `request_body`,
 *    `response_body`, `request_body_truncated`, `response_body_truncated`
 *    (`%DYNAMIC_METADATA(reflex:request_body)%` ...).
 *
 * Values come typed (`typed_json_format`, unset → null) or as text (`json_format`, unset → `-`).
 */
export const envoyJsonFormat: LogFormat = {
  name: 'envoy-json',
  module: import.meta.url, // ingest workers import the format from here
  summary: "Envoy's JSON file access log (Envoy Gateway's default format), one object per line, with the Lua filter's bodies when logged",
  decode(payload: string, options?: DecodeOptions): DecodedEntry[] {
    const maxDepth = options?.maxDepth ?? DEFAULT_JSON_DEPTH;
    return parseNdjson(payload).map(({ value, line }) => decodeWith(value, { prefix: '', line }, 'envoy', (r) => envoyJsonToExchange(r, maxDepth)));
  },
};

type Log = Record<string, unknown>;

export function envoyJsonToExchange(raw: unknown, maxDepth = DEFAULT_JSON_DEPTH): Exchange {
  const log = asObject(raw, '');
  const method = required(log, ['method', ':method']);
  if (!/^[A-Za-z]+$/.test(method.value)) wrong(method.key, `an HTTP method, got ${describe(log[method.key])}`);
  const time = required(log, ['start_time']);
  const timeMs = parseRfc3339(time.value);
  if (timeMs === null) wrong('start_time', `an RFC 3339 time (%START_TIME%), got ${describe(log.start_time)}`);
  const status = required(log, ['response_code']);
  // Envoy logs 0 when it sent no response (the client went away first).
  if (status.value === '0') throw new EntryError(CODES.entryFieldMissing, '/response_code is required (0: Envoy sent no response)', '/response_code');
  const statusCode = requiredStatus(log, 'response_code', '');

  // The client's path: x-envoy-original-path is set only when a rewrite changed it; Envoy Gateway's
  // and Istio's formats log `original?:path` under their own keys. `:path` is what the upstream saw.
  const client = required(log, ['x-envoy-original-path', 'x-envoy-origin-path', 'path', ':path']);
  if (!client.value.startsWith('/')) wrong(client.key, `a path starting with "/", got ${describe(log[client.key])}`);
  const upstream = text(log, [':path']);
  const q = client.value.indexOf('?');

  const headers: HeaderMap = {};
  copy(headers, 'user-agent', log, ['user-agent', 'user_agent']);
  copy(headers, 'referer', log, ['referer']);
  copy(headers, 'x-forwarded-for', log, ['x-forwarded-for', 'x_forwarded_for']);
  copy(headers, 'x-request-id', log, ['x-request-id', 'request_id']);
  copy(headers, 'content-type', log, ['content-type']);
  const responseHeaders: HeaderMap = {};
  copy(responseHeaders, 'content-type', log, ['response-content-type']);

  return {
    request: {
      id: headers['x-request-id'] ?? 'h' + hashJson(raw),
      time: new Date(timeMs!).toISOString(),
      method: method.value.toUpperCase(),
      scheme: text(log, ['scheme', ':scheme']),
      host: text(log, [':authority', 'authority']),
      path: q === -1 ? client.value : client.value.slice(0, q),
      upstreamPath: upstream === null ? null : upstream.split('?', 1)[0]!,
      query: q === -1 ? {} : parseQuery(client.value.slice(q + 1)),
      headers,
      body: body(log, 'request', headers['content-type'], maxDepth),
      route: null,
      params: {},
    },
    response: {
      status: statusCode,
      headers: responseHeaders,
      body: body(log, 'response', responseHeaders['content-type'], maxDepth),
      latencyMs: number(log, 'duration'),
    },
    client: { ip: hostOf(text(log, ['downstream_remote_address'])), consumer: null },
    gateway: { kind: 'envoy', service: text(log, ['upstream_cluster']), route: text(log, ['route_name']), node: null, routePrefix: null },
    operation: null,
  };
}

/** The first of `keys` that is logged, as text; null, empty and `-` mean Envoy had no value. */
function text(log: Log, keys: readonly string[]): string | null {
  return first(log, keys)?.value ?? null;
}

function first(log: Log, keys: readonly string[]): { key: string; value: string } | null {
  for (const key of keys) {
    const v = log[key];
    if (typeof v === 'number' && Number.isFinite(v)) return { key, value: String(v) };
    if (typeof v === 'string' && v !== '' && v !== '-') return { key, value: v };
  }
  return null;
}

function required(log: Log, keys: readonly string[]): { key: string; value: string } {
  const found = first(log, keys);
  if (found) return found;
  const present = keys.find((k) => log[k] !== undefined && log[k] !== null && log[k] !== '' && log[k] !== '-');
  if (present) wrong(present, `text, got ${describe(log[present])}`);
  const or = keys.length > 1 ? ` (or ${keys.slice(1).join(', ')})` : '';
  throw new EntryError(CODES.entryFieldMissing, `/${keys[0]} is required${or}`, `/${keys[0]}`);
}

function wrong(key: string, expected: string): never {
  throw new EntryError(CODES.entryFieldType, `/${key} must be ${expected}`, `/${key}`);
}

function number(log: Log, key: string): number | null {
  const v = log[key];
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  return typeof v === 'string' && /^\d+(\.\d+)?$/.test(v) ? Number(v) : null;
}

function copy(headers: HeaderMap, name: string, log: Log, keys: readonly string[]): void {
  const value = text(log, keys);
  if (value !== null) headers[name] = value;
}

/** A body the Lua filter cut stays text: a cut JSON document can still parse (`12` of `1234`) and mislead. */
function body(log: Log, part: 'request' | 'response', contentType: string | undefined, maxDepth: number): unknown {
  const value = log[`${part}_body`];
  if (typeof value !== 'string' || value === '' || value === '-') return null;
  const truncated = log[`${part}_body_truncated`];
  if (truncated === true || truncated === 'true') return value;
  return normalizeBody(value, contentType, maxDepth);
}

/** `10.0.0.1:5522` → `10.0.0.1`, `[::1]:5522` → `::1`; a pipe path or a bare address as it is. */
function hostOf(address: string | null): string | null {
  if (address === null) return null;
  const v6 = /^\[([^\]]+)\]:\d+$/.exec(address);
  if (v6) return v6[1]!;
  const v4 = /^([^:]+):\d+$/.exec(address);
  return v4 ? v4[1]! : address;
}
