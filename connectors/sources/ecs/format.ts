import { asObject, CODES, decodeWith, DEFAULT_JSON_DEPTH, describe, EntryError, hashJson, normalizeBody, parseJson, parseNdjson, parseRfc3339, pathWithoutQuery, scalarText, setOwn, type DecodedEntry, type DecodeOptions, type Exchange, type GatewayKind, type HeaderMap, type LogFormat } from '../../../src/sdk/index.js';
import { parseQuery } from '../envoy-als/normalize.js';
import { originOf } from '../kong/origin.js';
import { EcsFields, FieldNames, type Found } from './fields.js';

/**
 * Elastic Common Schema HTTP documents (Filebeat, Packetbeat, Elastic Agent, app loggers), nested,
 * dotted or mixed (fields.ts). Field reference: shared/fixtures/ecs-notes.md.
 *
 * A payload is NDJSON of documents, one document (pretty-printed too), a JSON array of them, or an
 * `_search` response. Each value is a document or a search hit `{_index, _id, _source}`; the hit's
 * `_index/_id` (what the elasticsearch source uses too), or a top-level `_id` beside the document's
 * fields (Elasticsearch refuses `_id` inside a document, so only a reader can have put it there),
 * is the request id when the document has no `http.request.id`. Dead-letter pointers of a hit
 * start at `/_source`.
 */
export const ecsFormat: LogFormat = {
  name: 'ecs',
  module: import.meta.url, // ingest workers import the format from here
  summary: 'Elastic Common Schema HTTP documents (nested or dotted keys): NDJSON, one document, an array, search hits or a _search response',
  decode(payload: string, options?: DecodeOptions): DecodedEntry[] {
    const maxDepth = options?.maxDepth ?? DEFAULT_JSON_DEPTH;
    return splitPayload(payload).map(({ value, prefix, line }) =>
      decodeWith(value, { prefix, ...(line !== undefined ? { line } : {}) }, 'ecs', (raw) => ecsToExchange(raw, maxDepth)));
  },
};

function splitPayload(payload: string): Array<{ value: unknown; prefix: string; line?: number }> {
  if (payload.trimStart().startsWith('[')) {
    return (parseJson(payload, 'ECS document array') as unknown[]).map((value, i) => ({ value, prefix: `/${i}` }));
  }
  let whole: unknown;
  try {
    whole = JSON.parse(payload);
  } catch {
    return parseNdjson(payload).map(({ value, line }) => ({ value, prefix: '', line }));
  }
  const hits = (whole as { hits?: { hits?: unknown } } | null)?.hits?.hits;
  if (Array.isArray(hits)) return hits.map((value, i) => ({ value, prefix: `/hits/hits/${i}` }));
  return [{ value: whole, prefix: '' }];
}

const GROUPS = ['http.request.headers', 'http.response.headers'] as const;
const NAMES = new FieldNames([
  '@timestamp', 'event.start', 'event.duration',
  'http.request.method', 'http.request.id', 'http.request.body.content', 'http.request.mime_type', 'http.request.referrer',
  'http.response.status_code', 'http.response.body.content', 'http.response.mime_type',
  'url.path', 'url.query', 'url.original', 'url.full', 'url.domain', 'url.port', 'url.scheme',
  'client.ip', 'source.ip', 'user_agent.original', 'user.name', 'user.id',
  'service.name', 'observer.product', 'observer.type', 'observer.name', 'observer.hostname', 'agent.type',
], GROUPS);

export function ecsToExchange(raw: unknown, maxDepth = DEFAULT_JSON_DEPTH): Exchange {
  const value = asObject(raw, '');
  const hit = value._source !== undefined;
  const doc = hit ? asObject(value._source, '/_source') : value;
  const f = new EcsFields(doc, hit ? '/_source' : '', NAMES);
  const documentId = idOf(value);

  const method = required(f, 'http.request.method');
  if (!/^[A-Za-z]+$/.test(method.text)) wrong(method.found, `an HTTP method, got ${describe(method.found.value)}`);
  const url = requestUrl(f);
  const reqHeaders = headers(f, 'http.request.headers');
  const resHeaders = headers(f, 'http.response.headers');
  const userAgent = text(f, 'user_agent.original');
  if (userAgent !== null && reqHeaders['user-agent'] === undefined) reqHeaders['user-agent'] = userAgent;
  const referrer = text(f, 'http.request.referrer');
  if (referrer !== null && reqHeaders.referer === undefined) reqHeaders.referer = referrer;

  return {
    request: {
      id: text(f, 'http.request.id') ?? documentId ?? 'h' + hashJson(raw),
      time: requestTime(f),
      method: method.text.toUpperCase(),
      scheme: url.scheme,
      host: url.host,
      path: url.path,
      upstreamPath: null,
      query: url.query === null ? {} : parseQuery(url.query),
      headers: reqHeaders,
      body: body(f, 'http.request', reqHeaders['content-type'], maxDepth),
      route: null,
      params: {},
    },
    response: {
      status: status(f),
      headers: resHeaders,
      body: body(f, 'http.response', resHeaders['content-type'], maxDepth),
      latencyMs: durationMs(f),
    },
    client: { ip: text(f, 'client.ip') ?? text(f, 'source.ip'), consumer: text(f, 'user.name') ?? text(f, 'user.id') },
    gateway: {
      kind: gatewayKind(f),
      service: text(f, 'service.name'),
      route: null,
      node: text(f, 'observer.name') ?? text(f, 'observer.hostname'),
      routePrefix: null,
    },
    operation: null,
  };
}

function idOf(value: Record<string, unknown>): string | null {
  const id = value._id;
  if (typeof id !== 'string' || id === '') return null;
  return typeof value._index === 'string' && value._index !== '' ? `${value._index}/${id}` : id;
}

/** A field as text (strings and finite numbers); empty or absent is null. */
function text(f: EcsFields, name: string): string | null {
  const v = f.get(name)?.value;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return typeof v === 'string' && v !== '' ? v : null;
}

function required(f: EcsFields, name: string): { text: string; found: Found } {
  const found = f.get(name);
  const value = text(f, name);
  if (found && value !== null) return { text: value, found };
  if (found && found.value !== null && found.value !== '') wrong(found, `text, got ${describe(found.value)}`);
  return missing(f, name);
}

function missing(f: EcsFields, name: string, or = ''): never {
  const pointer = f.pointerFor(name);
  throw new EntryError(CODES.entryFieldMissing, `${pointer} is required${or}`, pointer);
}

function wrong(found: Found, expected: string): never {
  throw new EntryError(CODES.entryFieldType, `${found.pointer} must be ${expected}`, found.pointer);
}

function status(f: EcsFields): number {
  const { text: value, found } = required(f, 'http.response.status_code');
  const n = /^\d{3}$/.test(value) ? Number(value) : NaN;
  if (n >= 100 && n <= 599) return n;
  return wrong(found, `an HTTP status code (100-599), got ${describe(found.value)}`);
}

/**
 * `event.start` (when the request began) else `@timestamp` (Filebeat's is the log line's time, the
 * request's end). Either, when present, must be a real time: RFC 3339, or epoch milliseconds, which
 * a date field of Elasticsearch also takes and `_source` keeps as sent.
 */
function requestTime(f: EcsFields): string {
  const start = time(f, 'event.start');
  const stamp = time(f, '@timestamp');
  const ms = start ?? stamp;
  if (ms === null) return missing(f, '@timestamp', ' (or event.start)');
  return new Date(ms).toISOString();
}

/** Milliseconds an RFC 3339 time can say: years 0000 to 9999. */
const MAX_TIME_MS = 253_402_300_799_999;

function time(f: EcsFields, name: string): number | null {
  const found = f.get(name);
  if (found === undefined || found.value === null) return null;
  const v = found.value;
  const ms = typeof v === 'string' ? parseRfc3339(v) : typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= MAX_TIME_MS ? v : null;
  return ms ?? wrong(found, `an RFC 3339 time (e.g. 2025-01-15T10:21:33.512Z) or epoch milliseconds, got ${describe(v)}`);
}

/** `event.duration` is nanoseconds (ECS); a value that is not a count is treated as not logged. */
function durationMs(f: EcsFields): number | null {
  const v = f.get('event.duration')?.value;
  const ns = typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : NaN;
  return Number.isFinite(ns) && ns >= 0 ? ns / 1e6 : null;
}

interface RequestUrl {
  scheme: string | null;
  host: string | null;
  path: string;
  query: string | null;
}

/**
 * The client's path: `url.path`, else the path of `url.original` (as the client sent it: `/search?q=`
 * or absolute) or `url.full`, percent-encoding kept as logged. The query likewise: `url.query`
 * (without `?`), else the URL's.
 */
function requestUrl(f: EcsFields): RequestUrl {
  const full = text(f, 'url.full');
  const origin = originOf(full ?? text(f, 'url.original'));
  const port = text(f, 'url.port');
  const domain = text(f, 'url.domain');
  const scheme = text(f, 'url.scheme')?.toLowerCase() ?? origin?.scheme ?? null;
  const defaultPort = scheme === 'https' ? '443' : scheme === 'http' ? '80' : null;
  const host = domain !== null ? (port !== null && port !== defaultPort ? `${domain}:${port}` : domain) : origin?.host ?? null;

  const uriName = text(f, 'url.original') !== null ? 'url.original' : full !== null ? 'url.full' : null;
  const uri = uriName === null ? null : pathAndQuery(f.get(uriName)!);
  const query = text(f, 'url.query') ?? uri?.query ?? null;
  const path = text(f, 'url.path');
  if (path !== null) {
    if (!path.startsWith('/')) wrong(f.get('url.path')!, `a path starting with "/", got ${describe(path)}`);
    return { scheme, host, path: pathWithoutQuery(path), query };
  }
  if (uri === null) return missing(f, 'url.path', ' (or url.original, url.full)');
  return { scheme, host, path: uri.path, query };
}

/** `/a?x=1` or `https://h:8080/a?x=1#f` → `/a` and `x=1`. */
function pathAndQuery(found: Found): { path: string; query: string | null } {
  const value = found.value as string | number;
  if (typeof value !== 'string') return wrong(found, `a URL, got ${describe(value)}`);
  const authority = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/.exec(value);
  const rest = (authority ? value.slice(authority[0].length) : value).split('#', 1)[0]!;
  if (!authority && !rest.startsWith('/')) wrong(found, `a path starting with "/" or an absolute URL, got ${describe(value)}`);
  const q = rest.indexOf('?');
  return { path: pathWithoutQuery(rest.startsWith('/') ? rest : '/' + rest), query: q === -1 ? null : rest.slice(q + 1) };
}

/** Headers where a shipper put them (Packetbeat `send_headers`): names lower-cased, lists joined as HTTP does. */
function headers(f: EcsFields, group: string): HeaderMap {
  const out: HeaderMap = {};
  for (const [name, found] of f.group(group)) {
    const v = found.value;
    if (v === null || v === undefined) continue;
    const joined = Array.isArray(v)
      ? v.map((x, i) => (x === null ? null : scalarText(x, found.parentPointer, found.key, i))).filter((x) => x !== null).join(', ')
      : scalarText(v, found.parentPointer, found.key);
    setOwn(out, name.toLowerCase(), joined);
  }
  return out;
}

/**
 * ECS keeps bodies as strings. JSON is parsed when the shipper's `mime_type` (or, failing that, the
 * logged Content-Type) says JSON. With neither, a body that starts like a JSON object or array is
 * tried as JSON: ECS gives no other hint then, and a body that does not parse stays text.
 */
function body(f: EcsFields, part: 'http.request' | 'http.response', contentType: string | undefined, maxDepth: number): unknown {
  const content = f.get(`${part}.body.content`)?.value;
  if (content === undefined || content === null || content === '') return null;
  const type = text(f, `${part}.mime_type`) ?? contentType ?? null;
  if (type !== null || typeof content !== 'string') return normalizeBody(content, type, maxDepth);
  const first = content.trimStart()[0];
  return normalizeBody(content, first === '{' || first === '[' ? 'application/json' : null, maxDepth);
}

/**
 * Elasticsearch is where the log was stored, not what served the request: the gateway is named
 * when the shipper says which one it was (`observer.product`/`observer.type`, or an agent type),
 * else the kind is `elasticsearch`.
 */
function gatewayKind(f: EcsFields): GatewayKind {
  for (const name of ['observer.product', 'observer.type', 'agent.type']) {
    const v = text(f, name)?.toLowerCase() ?? '';
    if (/\bkong\b/.test(v)) return 'kong';
    if (/\benvoy\b/.test(v)) return 'envoy';
  }
  return 'elasticsearch';
}
