/**
 * The type of the Exchange (DESIGN.md "Exchange") a rule of one operation sees: bodies from the
 * operation's request and response schemas, path parameters as the route tree converts them,
 * headers as strings, everything else as the normalizers fill it.
 */
import { isObject, type Obj } from '../spec/doc.js';
import { isJsonMediaType } from '../spec/op-shape.js';
import type { PathParam } from '../spec/types.js';
import { admits, type StatusTest } from './status.js';
import { ANY, arrayOf, INTEGER, NULL, nullable, NUMBER, objectOf, raw, STRING, union, type T } from './types.js';

const STRING_MAP: T = { k: 'object', props: new Map(), additional: STRING };
const NULLABLE_STRING = nullable(STRING);
const GATEWAY_KINDS = ['kong', 'envoy', 'aws-apigw', 's3', 'elasticsearch', 'kafka', 'http'];

/** Without a test from `when`, a rule sees the success responses. */
const SUCCESS: StatusTest = (s) => s >= 200 && s < 300;

export function exchangeType(operation: Obj, params: readonly PathParam[], statuses: StatusTest | null): T {
  const paramTypes: Record<string, T> = {};
  for (const p of params) paramTypes[p.name] = { k: 'scalar', type: p.type };
  const request = objectOf({
    id: STRING,
    time: { k: 'scalar', type: 'string', schema: { type: 'string', format: 'date-time' } },
    method: STRING,
    scheme: NULLABLE_STRING,
    host: NULLABLE_STRING,
    path: STRING,
    upstreamPath: NULLABLE_STRING,
    query: { k: 'object', props: new Map(), additional: union([STRING, arrayOf(STRING)]) },
    headers: STRING_MAP,
    body: requestBody(operation),
    route: STRING,
    params: objectOf(paramTypes),
  });
  const response = objectOf({
    status: INTEGER,
    headers: STRING_MAP,
    body: responseBody(operation, statuses ?? SUCCESS),
    latencyMs: nullable(NUMBER),
  });
  return objectOf({
    request,
    response,
    client: objectOf({ ip: NULLABLE_STRING, consumer: NULLABLE_STRING }),
    gateway: objectOf({
      kind: { k: 'scalar', type: 'string', schema: { type: 'string', enum: GATEWAY_KINDS } },
      service: NULLABLE_STRING,
      route: NULLABLE_STRING,
      node: NULLABLE_STRING,
    }),
    operation: objectOf({ id: STRING, method: STRING, path: STRING }),
  });
}

/** JSON bodies parse to their schema; a body that is not JSON is text; none is null. */
function bodyOf(holder: unknown): T[] {
  if (!isObject(holder) || !isObject(holder.content) || Object.keys(holder.content).length === 0) return [NULL];
  const out: T[] = [];
  for (const [media, body] of Object.entries(holder.content)) {
    if (!isJsonMediaType(media)) out.push(STRING);
    else out.push(isObject(body) && body.schema !== undefined ? raw(body.schema) : ANY);
  }
  return out;
}

function requestBody(operation: Obj): T {
  const body = operation.requestBody;
  if (!isObject(body)) return NULL;
  return union(body.required === true ? bodyOf(body) : [...bodyOf(body), NULL]);
}

/** The bodies of the responses whose status the rule can see; unknown when the spec declares none of them. */
function responseBody(operation: Obj, statuses: StatusTest): T {
  const responses = isObject(operation.responses) ? operation.responses : {};
  const seen = Object.keys(responses).filter((code) => admits(code, statuses));
  if (seen.length === 0) return ANY;
  return union(seen.flatMap((code) => bodyOf(responses[code])));
}
