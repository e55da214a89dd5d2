import type { Exchange, GatewayKind, QueryMap } from '../../../src/model/exchange.js';
import { normalizeBody } from '../../../src/model/body.js';
import { hashHex } from '../../../src/model/hash.js';
import { normalizeHeaders } from '../../../src/model/headers.js';
import { parseNdjson } from '../../../src/sources/json-payload.js';
import {
  EntryError, asObject, entryDiagnostic, optionalString, requiredStatus, requiredString,
} from '../../../src/sources/entry-errors.js';
import type { DecodedEntry, LogFormat } from '../../../src/sources/types.js';

const GATEWAY_KINDS = new Set<GatewayKind>(['kong', 'envoy', 's3', 'elasticsearch', 'kafka', 'http']);

/**
 * The canonical Exchange (DESIGN.md), one JSON object per line. Required: request.method,
 * request.path, request.time, response.status. Everything else defaults; `request.id` defaults to
 * a hash of the line, so a line sent twice is still recognised.
 */
export const exchangeFormat: LogFormat = {
  name: 'exchange',
  summary: 'the canonical Exchange record as NDJSON (one object per line)',
  decode(payload: string): DecodedEntry[] {
    return parseNdjson(payload).map(({ value, line }) => {
      try {
        return { ok: true, exchange: toExchange(value), raw: value };
      } catch (err) {
        if (!(err instanceof EntryError)) throw err;
        return {
          ok: false,
          diagnostic: entryDiagnostic(err, { prefix: '', line }),
          raw: value,
          requestKey: 'http:raw:' + hashHex(JSON.stringify(value)),
        };
      }
    });
  },
};

function toExchange(raw: unknown): Exchange {
  const rec = asObject(raw, '');
  const req = asObject(rec.request, '/request');
  const res = asObject(rec.response, '/response');
  const time = requiredString(req, 'time', '/request');
  if (Number.isNaN(Date.parse(time))) throw new EntryError('RX303', `/request/time must be an RFC 3339 time, got "${time}"`, '/request/time');
  const path = requiredString(req, 'path', '/request');
  if (!path.startsWith('/')) throw new EntryError('RX303', `/request/path must start with "/", got "${path}"`, '/request/path');
  const reqHeaders = normalizeHeaders(req.headers);
  const resHeaders = normalizeHeaders(res.headers);
  const client = rec.client && typeof rec.client === 'object' ? (rec.client as Record<string, unknown>) : {};
  const gateway = rec.gateway && typeof rec.gateway === 'object' ? (rec.gateway as Record<string, unknown>) : {};
  const kind = (optionalString(gateway, 'kind') ?? 'http') as GatewayKind;
  if (!GATEWAY_KINDS.has(kind)) {
    throw new EntryError('RX303', `/gateway/kind must be one of ${[...GATEWAY_KINDS].join(', ')}, got "${kind}"`, '/gateway/kind');
  }
  const q = path.indexOf('?');
  return {
    request: {
      id: optionalString(req, 'id') ?? 'h' + hashHex(JSON.stringify(raw)),
      time: new Date(time).toISOString(),
      method: requiredString(req, 'method', '/request').toUpperCase(),
      scheme: optionalString(req, 'scheme'),
      host: optionalString(req, 'host'),
      path: q === -1 ? path : path.slice(0, q),
      query: readQuery(req.query),
      headers: reqHeaders,
      body: normalizeBody(req.body, reqHeaders['content-type']),
      route: null,
      params: {},
    },
    response: {
      status: requiredStatus(res, 'status', '/response'),
      headers: resHeaders,
      body: normalizeBody(res.body, resHeaders['content-type']),
      latencyMs: typeof res.latencyMs === 'number' ? res.latencyMs : null,
    },
    client: { ip: optionalString(client, 'ip'), consumer: optionalString(client, 'consumer') },
    gateway: {
      kind,
      service: optionalString(gateway, 'service'),
      route: optionalString(gateway, 'route'),
      node: optionalString(gateway, 'node'),
    },
    operation: null,
  };
}

function readQuery(raw: unknown): QueryMap {
  const out: QueryMap = {};
  if (!raw || typeof raw !== 'object') return out;
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    out[k] = Array.isArray(v) ? v.map(String) : String(v);
  }
  return out;
}
