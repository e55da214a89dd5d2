import { asObject, CODES, decodeWith, DEFAULT_JSON_DEPTH, EntryError, hashJson, normalizeBody, normalizeHeaders, optionalString, parseNdjson, parseRfc3339, pathWithoutQuery, requiredStatus, requiredString, scalarText, setOwn, type DecodedEntry, type DecodeOptions, type Exchange, type GatewayKind, type LogFormat, type QueryMap } from '../../../src/sdk/index.js';

const GATEWAY_KINDS = new Set<GatewayKind>(['kong', 'envoy', 'aws-apigw', 's3', 'elasticsearch', 'kafka', 'http']);

/**
 * The canonical Exchange (DESIGN.md), one JSON object per line. Required: request.method,
 * request.path, request.time, response.status. Everything else defaults; `request.id` defaults to
 * a hash of the line, so a line sent twice is still recognised.
 */
export const exchangeFormat: LogFormat = {
  name: 'exchange',
  module: import.meta.url, // ingest workers import the format from here
  summary: 'the canonical Exchange record as NDJSON (one object per line)',
  decode(payload: string, options?: DecodeOptions): DecodedEntry[] {
    const maxDepth = options?.maxDepth ?? DEFAULT_JSON_DEPTH;
    return parseNdjson(payload).map(({ value, line }) => decodeWith(value, { prefix: '', line }, 'http', (r) => toExchange(r, maxDepth)));
  },
};

function toExchange(raw: unknown, maxDepth: number): Exchange {
  const rec = asObject(raw, '');
  const req = asObject(rec.request, '/request');
  const res = asObject(rec.response, '/response');
  const time = requiredString(req, 'time', '/request');
  const timeMs = parseRfc3339(time);
  if (timeMs === null) {
    throw new EntryError(CODES.entryFieldType, `/request/time must be an RFC 3339 date-time (e.g. 2024-05-01T12:00:00Z, a real calendar date with an offset), got "${time}"`, '/request/time');
  }
  const path = requestPath(requiredString(req, 'path', '/request'), '/request/path');
  const upstream = optionalString(req, 'upstreamPath');
  const upstreamPath = upstream === null ? null : requestPath(upstream, '/request/upstreamPath');
  const reqHeaders = normalizeHeaders(req.headers, '/request/headers');
  const resHeaders = normalizeHeaders(res.headers, '/response/headers');
  const client = rec.client && typeof rec.client === 'object' ? (rec.client as Record<string, unknown>) : {};
  const gateway = rec.gateway && typeof rec.gateway === 'object' ? (rec.gateway as Record<string, unknown>) : {};
  const kind = (optionalString(gateway, 'kind') ?? 'http') as GatewayKind;
  if (!GATEWAY_KINDS.has(kind)) {
    throw new EntryError(CODES.entryFieldType, `/gateway/kind must be one of ${[...GATEWAY_KINDS].join(', ')}, got "${kind}"`, '/gateway/kind');
  }
  return {
    request: {
      id: optionalString(req, 'id') ?? 'h' + hashJson(raw),
      time: new Date(timeMs).toISOString(),
      method: requiredString(req, 'method', '/request').toUpperCase(),
      scheme: optionalString(req, 'scheme'),
      host: optionalString(req, 'host'),
      path,
      upstreamPath,
      query: readQuery(req.query, '/request/query'),
      headers: reqHeaders,
      body: normalizeBody(req.body, reqHeaders['content-type'], maxDepth),
      route: null,
      params: {},
    },
    response: {
      status: requiredStatus(res, 'status', '/response'),
      headers: resHeaders,
      body: normalizeBody(res.body, resHeaders['content-type'], maxDepth),
      latencyMs: typeof res.latencyMs === 'number' ? res.latencyMs : null,
    },
    client: { ip: optionalString(client, 'ip'), consumer: optionalString(client, 'consumer') },
    gateway: {
      kind,
      service: optionalString(gateway, 'service'),
      route: optionalString(gateway, 'route'),
      node: optionalString(gateway, 'node'),
      routePrefix: optionalString(gateway, 'routePrefix'),
    },
    operation: null,
  };
}

function requestPath(value: string, pointer: string): string {
  if (!value.startsWith('/')) throw new EntryError(CODES.entryFieldType, `${pointer} must start with "/", got "${value}"`, pointer);
  return pathWithoutQuery(value);
}

function readQuery(raw: unknown, pointer: string): QueryMap {
  const out: QueryMap = {};
  if (!raw || typeof raw !== 'object') return out;
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    setOwn(out, k, Array.isArray(v) ? v.map((x, i) => scalarText(x, pointer, k, i)) : scalarText(v, pointer, k));
  }
  return out;
}
