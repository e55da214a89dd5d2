import type { Exchange, QueryMap } from '../../../src/model/exchange.js';
import { decodeBase64Body, normalizeBody } from '../../../src/model/body.js';
import { hashHex } from '../../../src/model/hash.js';
import { normalizeHeaders } from '../../../src/model/headers.js';
import { parseJson, parseNdjson } from '../../../src/sources/json-payload.js';
import {
  EntryError, asObject, entryDiagnostic, optionalString, requiredStatus, requiredString,
} from '../../../src/sources/entry-errors.js';
import type { DecodedEntry, LogFormat } from '../../../src/sources/types.js';
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
  summary: "Kong's http-log / file-log JSON: one object, a batch array, or NDJSON",
  decode(payload: string): DecodedEntry[] {
    const values = splitPayload(payload);
    return values.map(({ value, prefix, line }) => decodeEntry(value, prefix, line));
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

export function decodeEntry(raw: unknown, prefix: string, line?: number): DecodedEntry {
  try {
    return { ok: true, exchange: kongToExchange(raw), raw };
  } catch (err) {
    if (!(err instanceof EntryError)) throw err;
    return {
      ok: false,
      diagnostic: entryDiagnostic(err, { prefix, ...(line !== undefined ? { line } : {}) }),
      raw,
      requestKey: 'kong:raw:' + hashHex(JSON.stringify(raw) ?? 'undefined'),
    };
  }
}

export function kongToExchange(raw: unknown): Exchange {
  const log = asObject(raw, '');
  const req = asObject(log.request, '/request');
  const res = asObject(log.response, '/response');
  const method = requiredString(req, 'method', '/request').toUpperCase();
  const status = requiredStatus(res, 'status', '/response');
  const reqHeaders = normalizeHeaders(req.headers);
  const resHeaders = normalizeHeaders(res.headers);

  const startedAt = log.started_at;
  if (typeof startedAt !== 'number' || !Number.isFinite(startedAt)) {
    throw new EntryError(startedAt === undefined ? 'RX302' : 'RX303', '/started_at must be a number of milliseconds since the epoch', '/started_at');
  }

  const uri = typeof req.uri === 'string' ? req.uri : '/';
  const url = originOf(req.url);
  // The spec describes the upstream API, so match what the API saw: Kong's upstream_uri (after strip_path).
  const upstreamUri = typeof log.upstream_uri === 'string' && log.upstream_uri.length > 0 ? log.upstream_uri : uri;
  const q = upstreamUri.indexOf('?');
  const path = q === -1 ? upstreamUri : upstreamUri.slice(0, q);

  const id = optionalString(req, 'id') ?? resHeaders['x-kong-request-id'] ?? 'h' + hashHex(JSON.stringify(raw));
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
      path: path || '/',
      query: normalizeQuery(req.querystring),
      headers: reqHeaders,
      body: readBody(req, reqHeaders['content-type']),
      route: null,
      params: {},
    },
    response: {
      status,
      headers: resHeaders,
      body: readBody(res, resHeaders['content-type']),
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
    },
    operation: null,
  };
}

/**
 * A body the reflex plugin cut (`body_truncated: true`) stays text: a cut JSON document can still
 * parse (`12` of `1234`) and would mislead the rules.
 */
function readBody(part: Record<string, unknown>, contentType: string | undefined): unknown {
  const text = typeof part.body_base64 === 'string' ? decodeBase64Body(part.body_base64) : part.body;
  if (part.body_truncated === true && typeof text === 'string') return text;
  return normalizeBody(text, contentType);
}

/** Kong logs a value-less argument as `true` and a repeated one as an array. */
function normalizeQuery(raw: unknown): QueryMap {
  const out: QueryMap = {};
  if (!raw || typeof raw !== 'object') return out;
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    if (Array.isArray(v)) out[k] = v.map((x) => (x === true ? '' : String(x)));
    else out[k] = v === true ? '' : String(v);
  }
  return out;
}
