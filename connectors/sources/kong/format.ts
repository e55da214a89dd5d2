import { asObject, CODES, decodeBase64Body, decodeWith, DEFAULT_JSON_DEPTH, EntryError, hashJson, normalizeBody, normalizeHeaders, optionalString, parseJson, parseNdjson, pathWithoutQuery, requiredStatus, requiredString, scalarText, setOwn, type DecodedEntry, type DecodeOptions, type Exchange, type LogFormat, type QueryMap } from '../../../src/sdk/index.js';
import { isoTime } from './iso-time.js';
import { originOf } from './origin.js';

/**
 * Kong's log object (`kong.log.serialize()`, as http-log and file-log emit it): one object, the array
 * http-log posts when batching, or NDJSON (file-log). Field reference: shared/fixtures/kong-notes.md.
 *
 * Bodies: Kong does not log them by default. When the log carries `request.body` / `response.body`
 * (the raw text, as a plugin or `custom_fields_by_lua` stores it, or an already-parsed JSON value),
 * or `request.body_base64` / `response.body_base64`, they become the Exchange's bodies.
 * `body_truncated: true` (set by plugins/kong) keeps a cut body as text.
 */
export const kongFormat: LogFormat = {
  name: 'kong',
  module: import.meta.url, // ingest workers import the format from here
  summary: "Kong's http-log / file-log JSON: one object, a batch array, or NDJSON",
  decode(payload: string, options?: DecodeOptions): DecodedEntry[] {
    const values = splitPayload(payload);
    const maxDepth = options?.maxDepth ?? DEFAULT_JSON_DEPTH;
    return values.map(({ value, prefix, line }) => decodeEntry(value, prefix, line, maxDepth));
  },
};

function splitPayload(payload: string): Array<{ value: unknown; prefix: string; line?: number }> {
  const trimmed = payload.trimStart();
  if (trimmed.startsWith('[')) {
    const arr = parseJson(payload, 'Kong log batch') as unknown[];
    return arr.map((value, i) => ({ value, prefix: `/${i}` }));
  }
  // One object, possibly pretty-printed; several objects are file-log's NDJSON.
  try {
    return [{ value: JSON.parse(payload) as unknown, prefix: '' }];
  } catch {
    const lines = parseNdjson(payload);
    if (lines.length === 1) return [{ value: parseJson(payload, 'Kong log'), prefix: '' }];
    return lines.map(({ value, line }) => ({ value, prefix: '', line }));
  }
}

export function decodeEntry(raw: unknown, prefix: string, line?: number, maxDepth = DEFAULT_JSON_DEPTH): DecodedEntry {
  return decodeWith(raw, { prefix, ...(line !== undefined ? { line } : {}) }, 'kong', (r) => kongToExchange(r, maxDepth));
}

/** Milliseconds an RFC 3339 time can say: years 0000 to 9999. */
const MIN_TIME_MS = -62_167_219_200_000;
const MAX_TIME_MS = 253_402_300_799_999;

export function kongToExchange(raw: unknown, maxDepth = DEFAULT_JSON_DEPTH): Exchange {
  const log = asObject(raw, '');
  const req = asObject(log.request, '/request');
  const res = asObject(log.response, '/response');
  const method = requiredString(req, 'method', '/request').toUpperCase();
  const status = requiredStatus(res, 'status', '/response');
  const reqHeaders = normalizeHeaders(req.headers, '/request/headers');
  const resHeaders = normalizeHeaders(res.headers, '/response/headers');

  const startedAt = log.started_at;
  if (typeof startedAt !== 'number' || !Number.isFinite(startedAt)) {
    throw new EntryError(startedAt === undefined ? CODES.entryFieldMissing : CODES.entryFieldType, '/started_at must be a number of milliseconds since the epoch', '/started_at');
  }
  if (startedAt < MIN_TIME_MS || startedAt > MAX_TIME_MS) {
    throw new EntryError(CODES.entryFieldType, `/started_at must be milliseconds since the epoch within the years 0000-9999, got ${startedAt}`, '/started_at');
  }

  const uri = typeof req.uri === 'string' && req.uri.length > 0 ? req.uri : '/';
  const url = originOf(req.url);
  // Both paths are kept: the client's (request.uri) and the upstream's (upstream_uri, after strip_path),
  // so a spec written for either matches (route matching tries the client's first).
  const path = pathWithoutQuery(uri);
  const upstreamPath = typeof log.upstream_uri === 'string' && log.upstream_uri.length > 0 ? pathWithoutQuery(log.upstream_uri) : null;

  const id = optionalString(req, 'id') ?? resHeaders['x-kong-request-id'] ?? 'h' + hashJson(raw);
  const latencies = log.latencies && typeof log.latencies === 'object' ? (log.latencies as Record<string, unknown>) : {};
  const consumer = log.consumer && typeof log.consumer === 'object' ? (log.consumer as Record<string, unknown>) : null;
  const authenticated = log.authenticated_entity && typeof log.authenticated_entity === 'object'
    ? (log.authenticated_entity as Record<string, unknown>) : null;
  const service = log.service && typeof log.service === 'object' ? (log.service as Record<string, unknown>) : null;
  const route = log.route && typeof log.route === 'object' ? (log.route as Record<string, unknown>) : null;

  return {
    request: {
      id,
      time: isoTime(startedAt),
      method,
      scheme: url?.scheme ?? null,
      host: url?.host ?? reqHeaders.host ?? null,
      path,
      upstreamPath,
      query: normalizeQuery(req.querystring, '/request/querystring'),
      headers: reqHeaders,
      body: readBody(req, reqHeaders['content-type'], maxDepth),
      route: null,
      params: {},
    },
    response: {
      status,
      headers: resHeaders,
      body: readBody(res, resHeaders['content-type'], maxDepth),
      latencyMs: typeof latencies.request === 'number' ? latencies.request : null,
    },
    client: {
      ip: optionalString(log, 'client_ip'),
      consumer: consumer
        ? (optionalString(consumer, 'username') ?? optionalString(consumer, 'custom_id') ?? optionalString(consumer, 'id'))
        : authenticated ? optionalString(authenticated, 'id') : null,
    },
    gateway: {
      kind: 'kong',
      service: service ? (optionalString(service, 'name') ?? optionalString(service, 'id')) : null,
      route: route ? (optionalString(route, 'name') ?? optionalString(route, 'id')) : null,
      node: null,
      routePrefix: route ? routePrefixOf(route.paths, path) : null,
    },
    operation: null,
  };
}

/**
 * The longest plain path of the route (`paths: [/v2]`) that prefixes the client path, segment-wise.
 * Regex paths (`~/...`) are skipped: their match is not a prefix that can be taken off.
 */
function routePrefixOf(paths: unknown, clientPath: string): string | null {
  if (!Array.isArray(paths)) return null;
  let best: string | null = null;
  for (const p of paths) {
    if (typeof p !== 'string' || p.startsWith('~') || !p.startsWith('/')) continue;
    const prefix = p.replace(/\/+$/, '');
    if (prefix === '') continue;
    const prefixed = clientPath === prefix || clientPath.startsWith(prefix + '/') || p.endsWith('/') && clientPath.startsWith(p);
    if (prefixed && (best === null || prefix.length > best.length)) best = prefix;
  }
  return best;
}

/**
 * A body the reflex plugin cut (`body_truncated: true`) stays text: a cut JSON document can still
 * parse (`12` of `1234`) and would mislead the rules.
 */
function readBody(part: Record<string, unknown>, contentType: string | undefined, maxDepth: number): unknown {
  const text = typeof part.body_base64 === 'string' ? decodeBase64Body(part.body_base64) : part.body;
  if (part.body_truncated === true && typeof text === 'string') return text;
  return normalizeBody(text, contentType, maxDepth);
}

/** Kong logs a value-less argument as `true` and a repeated one as an array; anything else but text is refused. */
function normalizeQuery(raw: unknown, pointer: string): QueryMap {
  const out: QueryMap = {};
  if (!raw || typeof raw !== 'object') return out;
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    const value = Array.isArray(v) ? v.map((x, i) => (x === true ? '' : scalarText(x, pointer, k, i))) : v === true ? '' : scalarText(v, pointer, k);
    setOwn(out, k, value);
  }
  return out;
}
