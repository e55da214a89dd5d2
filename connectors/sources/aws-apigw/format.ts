import { asObject, CODES, decodeWith, describe, EntryError, hashJson, parseNdjson, pathWithoutQuery, requiredStatus, type DecodedEntry, type Exchange, type HeaderMap, type LogFormat } from '../../../src/sdk/index.js';
import { parseClfTime } from './clf-time.js';

/**
 * AWS API Gateway access logs in JSON, one object per line: the REST and HTTP API console presets
 * and custom templates of `$context` variables. Field reference: shared/fixtures/aws-apigw-notes.md.
 *
 * The template is the API owner's, so every field is optional but the method, the status, a time
 * and a path; values come quoted or not (`"status":"200"` or `"status":200`), and `-` means the
 * variable had no value. Access logs can only hold `$context` variables, never `$input`: there are
 * no bodies (`bodies: false`), so rules that read them cannot fire and serve/`reflex test` warn.
 */
export const awsApiGatewayFormat: LogFormat = {
  name: 'aws-apigw',
  module: import.meta.url, // ingest workers import the format from here
  summary: 'AWS API Gateway JSON access logs (REST and HTTP APIs), one object per line; no bodies',
  bodies: false,
  decode(payload: string): DecodedEntry[] {
    return parseNdjson(payload).map(({ value, line }) => decodeWith(value, { prefix: '', line }, 'aws-apigw', apiGatewayToExchange));
  },
};

type Log = Record<string, unknown>;

export function apiGatewayToExchange(raw: unknown): Exchange {
  const log = asObject(raw, '');
  const routeKey = text(log, 'routeKey');
  const method = requestMethod(log, routeKey);
  const status = text(log, 'status') === null ? missing('status', '') : requiredStatus(log, 'status', '');
  const { path, upstreamPath } = paths(log, routeKey);
  const userAgent = text(log, 'userAgent');
  const headers: HeaderMap = userAgent ? { 'user-agent': userAgent } : {};
  const host = text(log, 'domainName');
  return {
    request: {
      id: text(log, 'requestId') ?? text(log, 'extendedRequestId') ?? 'h' + hashJson(raw),
      time: new Date(requestTimeMs(log)).toISOString(),
      method,
      // execute-api endpoints and custom domain names serve HTTPS only.
      scheme: host ? 'https' : null,
      host,
      path,
      upstreamPath,
      query: {},
      headers,
      body: null,
      route: null,
      params: {},
    },
    response: { status, headers: {}, body: null, latencyMs: number(log, 'responseLatency') },
    client: { ip: text(log, 'ip') ?? text(log, 'sourceIp'), consumer: text(log, 'user') ?? text(log, 'caller') ?? text(log, 'principalId') },
    gateway: {
      kind: 'aws-apigw',
      service: text(log, 'apiId'),
      // `GET /pets/{id}` (HTTP API) or the resource template (REST): which API Gateway route it took.
      route: routeKey ?? text(log, 'resourcePath'),
      node: null,
      routePrefix: null,
    },
    operation: null,
  };
}

/** A logged value as text; `-`, empty and null mean API Gateway had no value for the variable. */
function text(log: Log, field: string): string | null {
  const v = log[field];
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return typeof v === 'string' && v !== '' && v !== '-' ? v : null;
}

/** A number logged quoted or not (`"12"` or `12`); anything else is treated as not logged. */
function number(log: Log, field: string): number | null {
  const v = log[field];
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  return typeof v === 'string' && /^\d+(\.\d+)?$/.test(v) ? Number(v) : null;
}

function missing(field: string, hint: string): never {
  throw new EntryError(CODES.entryFieldMissing, `/${field} is required${hint}`, `/${field}`);
}

function wrong(field: string, expected: string): never {
  throw new EntryError(CODES.entryFieldType, `/${field} must be ${expected}`, `/${field}`);
}

function requestMethod(log: Log, routeKey: string | null): string {
  // A route key `GET /pets/{id}` names the method too, for templates that log only the route key.
  const method = text(log, 'httpMethod') ?? (routeKey && /^[A-Z]+ \//.test(routeKey) && !routeKey.startsWith('ANY ') ? routeKey.slice(0, routeKey.indexOf(' ')) : null);
  if (method === null) return missing('httpMethod', '');
  if (!/^[A-Za-z]+$/.test(method)) return wrong('httpMethod', `an HTTP method, got ${describe(log.httpMethod)}`);
  return method.toUpperCase();
}

/**
 * `requestTimeEpoch` when logged (milliseconds, per the docs; a value of 11 digits or fewer is taken
 * as seconds, as some templates compute it), else `requestTime` in CLF (`21/Apr/2022:17:09:26 +0000`).
 */
function requestTimeMs(log: Log): number {
  const epoch = text(log, 'requestTimeEpoch');
  if (epoch !== null) {
    if (!/^\d{1,15}$/.test(epoch)) return wrong('requestTimeEpoch', `milliseconds since the epoch, got ${describe(log.requestTimeEpoch)}`);
    return epoch.length <= 11 ? Number(epoch) * 1000 : Number(epoch);
  }
  const clf = text(log, 'requestTime');
  if (clf === null) return missing('requestTime', ' (or requestTimeEpoch)');
  const ms = parseClfTime(clf);
  if (ms === null) return wrong('requestTime', `a time like 21/Apr/2022:17:09:26 +0000 ($context.requestTime), got ${describe(log.requestTime)}`);
  return ms;
}

/**
 * The client path is `$context.path`: on a REST API's default endpoint it starts with the stage
 * (`/prod/pets/7`). The path the API's resources are written under is the one without the stage,
 * which becomes `upstreamPath` (so a spec exported from API Gateway, stage in `servers`, and one
 * written without it both match). Templates that log no `path` give only `resourcePath` or the
 * route key, which are the path itself when they hold no `{parameter}`; otherwise there is no path
 * to match and the entry is a dead letter that says what to add to the template.
 */
function paths(log: Log, routeKey: string | null): { path: string; upstreamPath: string | null } {
  const resourcePath = concrete(text(log, 'resourcePath'));
  const logged = text(log, 'path');
  if (logged === null) {
    const path = resourcePath ?? concrete(routeKey?.includes(' /') ? routeKey.slice(routeKey.indexOf(' ') + 1) : null);
    if (path === null) return missing('path', `: the log names no concrete path (routeKey ${describe(log.routeKey ?? null)}, resourcePath ${describe(log.resourcePath ?? null)}); add "path":"$context.path" to the access log format`);
    return { path, upstreamPath: null };
  }
  if (!logged.startsWith('/')) return wrong('path', `a path starting with "/", got ${describe(log.path)}`);
  const path = pathWithoutQuery(logged);
  const stage = text(log, 'stage');
  if (stage && stage !== '$default' && path.startsWith(`/${stage}/`)) return { path, upstreamPath: path.slice(stage.length + 1) };
  return { path, upstreamPath: resourcePath !== null && resourcePath !== path ? resourcePath : null };
}

function concrete(path: string | null): string | null {
  return path !== null && path.startsWith('/') && !path.includes('{') ? path : null;
}
