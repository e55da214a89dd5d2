import { asObject, CODES, decodeWith, DEFAULT_JSON_DEPTH, EntryError, hashJson, normalizeBody, normalizeHeaders, parseRfc3339, pathWithoutQuery, setOwn, type DecodedEntry, type Exchange, type HeaderMap, type QueryMap } from '../../../src/sdk/index.js';

/**
 * Envoy's `HTTPAccessLogEntry` (envoy/data/accesslog/v3/accesslog.proto), in its proto3 JSON form
 * (lowerCamelCase names, enums by name, Timestamp as RFC 3339, Duration as "0.006s", UInt32Value as a
 * number, Struct as plain JSON, default values omitted): what `proto.ts` decodes a message into, and
 * what a dead letter keeps of an entry that cannot become an Exchange.
 */
export interface AlsHttpEntry {
  commonProperties?: {
    downstreamRemoteAddress?: AlsAddress;
    startTime?: string;
    timeToLastDownstreamTxByte?: string;
    duration?: string;
    upstreamCluster?: string;
    metadata?: { filterMetadata?: Record<string, Record<string, unknown>> };
    routeName?: string;
    streamId?: string;
    accessLogType?: string;
  };
  protocolVersion?: string;
  request?: {
    requestMethod?: string;
    scheme?: string;
    authority?: string;
    path?: string;
    userAgent?: string;
    referer?: string;
    forwardedFor?: string;
    requestId?: string;
    originalPath?: string;
    requestHeaders?: Record<string, string>;
  };
  response?: {
    responseCode?: number;
    responseHeaders?: Record<string, string>;
    responseCodeDetails?: string;
  };
}

interface AlsAddress {
  socketAddress?: { address?: string; portValue?: number };
  pipe?: { path?: string };
}

/**
 * Dynamic metadata namespace the Lua filter of plugins/envoy/envoy.yaml writes bodies into, and its
 * keys: `request_body` / `response_body` (the text, cut at the filter's limit) and
 * `request_body_truncated` / `response_body_truncated` (true when cut).
 */
export const METADATA_NAMESPACE = 'reflex';
/** Envoy's docs store Lua metadata under the filter's own name; read it when `reflex` is absent. */
const LUA_NAMESPACE = 'envoy.filters.http.lua';

/**
 * Entries that describe a finished request. Envoy can also log at stream start and periodically
 * (`flush_access_log_on_new_request`, `access_log_flush_interval`); those would be the same request
 * again, so they are skipped.
 */
const FINAL_TYPES = new Set([undefined, 'NotSet', 'DownstreamEnd']);

export function isFinalEntry(entry: AlsHttpEntry): boolean {
  return FINAL_TYPES.has(entry.commonProperties?.accessLogType);
}

/** One entry of an `http_logs` batch: an Exchange, or a dead letter that says which field is wrong. */
export function decodeAlsEntry(raw: unknown, where: { node: string | null; index: number; maxDepth?: number }): DecodedEntry {
  const maxDepth = where.maxDepth ?? DEFAULT_JSON_DEPTH;
  return decodeWith(raw, { file: `envoy-als:${where.node ?? 'unknown-node'}`, prefix: `/httpLogs/logEntry/${where.index}` }, 'envoy', (r) => alsToExchange(r, where.node, maxDepth));
}

export function alsToExchange(raw: unknown, node: string | null, maxDepth = DEFAULT_JSON_DEPTH): Exchange {
  const entry = asObject(raw, '') as AlsHttpEntry;
  const common = entry.commonProperties ? asObject(entry.commonProperties, '/commonProperties') as NonNullable<AlsHttpEntry['commonProperties']> : {};
  const req = asObject(entry.request, '/request') as NonNullable<AlsHttpEntry['request']>;
  const res = asObject(entry.response, '/response') as NonNullable<AlsHttpEntry['response']>;

  const method = req.requestMethod;
  if (!method || method === 'METHOD_UNSPECIFIED') throw new EntryError(CODES.entryFieldMissing, '/request/requestMethod is required', '/request/requestMethod');
  const status = res.responseCode;
  if (status === undefined || status === 0) {
    // Envoy logs 0 when no response was sent (the client went away first).
    throw new EntryError(CODES.entryFieldMissing, '/response/responseCode is required (0: Envoy sent no response)', '/response/responseCode');
  }
  if (!Number.isInteger(status) || status < 100 || status > 599) {
    throw new EntryError(CODES.entryFieldType, `/response/responseCode must be an HTTP status code (100-599), got ${status}`, '/response/responseCode');
  }
  const time = common.startTime;
  if (!time) throw new EntryError(CODES.entryFieldMissing, '/commonProperties/startTime is required', '/commonProperties/startTime');
  // `path` is what the upstream saw (after prefix_rewrite/regex_rewrite); `originalPath` is what the
  // client called, logged only when Envoy rewrote it (x-envoy-original-path).
  const uri = req.path || req.originalPath;
  if (!uri) throw new EntryError(CODES.entryFieldMissing, '/request/path is required', '/request/path');
  const q = uri.indexOf('?');
  const upstreamPath = q === -1 ? uri : uri.slice(0, q);
  const original = req.originalPath || req.requestHeaders?.['x-envoy-original-path'];
  const path = original ? pathWithoutQuery(original) : upstreamPath;

  const reqHeaders = normalizeHeaders(req.requestHeaders, '/request/requestHeaders');
  addFixed(reqHeaders, 'user-agent', req.userAgent);
  addFixed(reqHeaders, 'referer', req.referer);
  addFixed(reqHeaders, 'x-forwarded-for', req.forwardedFor);
  addFixed(reqHeaders, 'x-request-id', req.requestId);
  const resHeaders = normalizeHeaders(res.responseHeaders, '/response/responseHeaders');

  const meta = common.metadata?.filterMetadata;
  const bodies = meta?.[METADATA_NAMESPACE] ?? meta?.[LUA_NAMESPACE] ?? {};

  return {
    request: {
      id: req.requestId || common.streamId || 'h' + hashJson(raw),
      time: isoTime(time),
      method,
      scheme: req.scheme || null,
      host: req.authority || null,
      path,
      upstreamPath,
      query: q === -1 ? {} : parseQuery(uri.slice(q + 1)),
      headers: reqHeaders,
      body: readBody(bodies, 'request', reqHeaders['content-type'], maxDepth),
      route: null,
      params: {},
    },
    response: {
      status,
      headers: resHeaders,
      body: readBody(bodies, 'response', resHeaders['content-type'], maxDepth),
      latencyMs: durationMs(common.timeToLastDownstreamTxByte ?? common.duration),
    },
    client: { ip: addressOf(common.downstreamRemoteAddress), consumer: null },
    gateway: { kind: 'envoy', service: common.upstreamCluster || null, route: common.routeName || null, node },
    operation: null,
  };
}

function addFixed(headers: HeaderMap, name: string, value: string | undefined): void {
  if (value && headers[name] === undefined) headers[name] = value;
}

/** A body the filter cut is kept as text: a cut JSON document can still parse (`12` of `1234`) and mislead. */
function readBody(bodies: Record<string, unknown>, part: 'request' | 'response', contentType: string | undefined, maxDepth: number): unknown {
  const text = bodies[`${part}_body`];
  if (typeof text !== 'string' || text === '') return null;
  if (bodies[`${part}_body_truncated`] === true) return text;
  return normalizeBody(text, contentType, maxDepth);
}

/** proto3 JSON Timestamps are RFC 3339 with up to 9 fractional digits; the Exchange keeps milliseconds. */
function isoTime(value: string): string {
  const ms = typeof value === 'string' ? parseRfc3339(value) : null;
  if (ms === null) throw new EntryError(CODES.entryFieldType, `/commonProperties/startTime must be an RFC 3339 time, got "${value}"`, '/commonProperties/startTime');
  return new Date(ms).toISOString();
}

/** proto3 JSON Duration: seconds with an `s` suffix ("0.006s"). */
function durationMs(value: string | undefined): number | null {
  if (!value || !value.endsWith('s')) return null;
  const seconds = Number(value.slice(0, -1));
  return Number.isFinite(seconds) ? Math.round(seconds * 1e6) / 1e3 : null;
}

function addressOf(address: AlsAddress | undefined): string | null {
  return address?.socketAddress?.address || address?.pipe?.path || null;
}

/** `a=1&a=2` → `{a: ['1', '2']}`; own properties only, so `__proto__=x` is a key like any other. */
export function parseQuery(query: string): QueryMap {
  const out: QueryMap = {};
  for (const [k, v] of new URLSearchParams(query)) {
    const had = Object.hasOwn(out, k) ? out[k] : undefined;
    setOwn(out, k, had === undefined ? v : Array.isArray(had) ? [...had, v] : [had, v]);
  }
  return out;
}
