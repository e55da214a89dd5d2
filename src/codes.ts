/**
 * Every code reflex reports, in one place: code paths refer to them by name (`CODES.celSyntax`),
 * so a typo does not compile, and the README's table of codes is generated from this list (a test
 * compares them). Callers switch on codes, never on message text.
 *
 *   RX0xx reading an OpenAPI document        RX1xx its x-reflex annotations (RX15x warnings)
 *   RX2xx reflex.yaml                        RX3xx reading a log entry (a dead letter)
 *   RX4xx processing an exchange (rules, CDC; a dead letter)
 *   RX5xx delivering to a sink
 *
 * The HTTP API answers a few refusals with a code of its own (API_CODES); they name the answer,
 * not a diagnostic.
 */
import type { Severity } from './model/diagnostic.js';

export interface CodeInfo<C extends string = string> {
  code: C;
  severity: Severity;
  /** One line, as the README's table shows it. */
  meaning: string;
}

function error<C extends string>(code: C, meaning: string): CodeInfo<C> {
  return { code, severity: 'error', meaning };
}
function warning<C extends string>(code: C, meaning: string): CodeInfo<C> {
  return { code, severity: 'warning', meaning };
}

export const CODE_LIST = {
  unreadable: error('RX001', 'the spec file cannot be read'),
  syntax: error('RX002', 'YAML/JSON syntax error in a spec'),
  badRef: error('RX003', 'a `$ref` cannot be resolved (missing file or missing target)'),
  notOpenApi: error('RX004', 'not an OpenAPI 3.0/3.1 document'),
  openApiSchema: error('RX005', 'the document violates the OpenAPI schema'),
  parserFailed: error('RX006', 'the OpenAPI parser failed otherwise'),
  refusedRef: error('RX007', 'a `$ref` reflex refuses to read (outside the spec\'s folder tree, not a regular file, too large, http); see `specRefs`'),

  unknownAnnotation: error('RX100', 'unknown x-reflex annotation (e.g. `x-reflex-event`)'),
  misplacedAnnotation: error('RX101', 'a known annotation in a place where reflex does not read it'),
  unknownKey: error('RX102', 'unknown key inside an annotation'),
  missingKey: error('RX103', 'required key missing from an annotation'),
  wrongType: error('RX104', 'an annotation value has the wrong type'),
  badValue: error('RX105', 'an annotation value is not allowed (enum, pattern, format, empty)'),
  unknownResource: error('RX110', 'unknown resource name'),
  duplicateOperationId: error('RX111', 'an operationId used twice (within a file or across spec files)'),
  streamClash: error('RX112', 'a stream produced by more than one spec file'),
  changelogStream: error('RX113', 'events sent to a resource\'s changelog stream'),
  celSyntax: error('RX120', 'CEL syntax error'),
  celUnknownFunction: error('RX121', 'unknown CEL function'),
  celUnknownVariable: error('RX122', 'unknown CEL variable'),
  celType: error('RX123', 'CEL type error'),
  jsonataSyntax: error('RX124', 'JSONata syntax error (a regex literal RE2 cannot compile included)'),
  celRegex: error('RX125', 'a CEL `matches` pattern RE2 cannot compile (backreferences, lookaround)'),
  unknownField: error('RX130', 'unknown field of the exchange (e.g. `response.stauts`)'),
  unknownProperty: error('RX131', 'unknown property of a request/response body schema'),
  unknownParameter: error('RX132', 'unknown path or query parameter'),
  cdcWithoutEffect: warning('RX150', 'x-reflex-cdc has no effect (no resource with `cdc: true`)'),
  unusedResource: warning('RX151', 'a resource declared but not used by any path'),
  shadowedRoute: warning('RX152', 'an operation can never match (another one has the same method and template)'),
  endlessRecursion: warning('RX153', 'a JSONata function calls itself with no condition (it never ends)'),
  nestedComprehension: warning('RX154', 'CEL comprehensions nested over request/response data (cost grows with the product of sizes)'),
  clientUpstreamAmbiguity: warning('RX155', 'a request path matches one operation as the client called it and another as the upstream saw it'),
  bodyNeverLogged: warning('RX156', 'a rule reads a request/response body, but every source reads a log format without bodies (`aws-apigw`): `serve` and `reflex test --format` say so'),
  untypedExpression: warning('RX157', 'part of a rule\'s `data` (or a `x-reflex-cdc.state`) is beyond schema inference, so the event contract has `{}` (any value) there'),

  configInvalid: error('RX200', 'reflex.yaml cannot be read, is not YAML, or breaks its schema'),
  connectorConfigInvalid: error('RX201', 'a `sources:`/`sinks:` block names an unknown type or breaks its connector\'s schema'),
  envVarUnset: error('RX202', 'a `${VAR}` in reflex.yaml names an environment variable that is not set'),
  sinkTableShape: error('RX203', 'a table a sink writes exists with a shape it cannot write (a missing column, another type, no primary key): startup stops'),
  sinkTableClash: error('RX204', 'two tables of a sink would have one name (a resource called `events`): rename one with `tables:`'),

  entryUnreadable: error('RX300', 'a log entry (or line) cannot be read: malformed JSON, a decoder failure'),
  entryNotObject: error('RX301', 'a log entry is not an object'),
  entryFieldMissing: error('RX302', 'a required field of a log entry is missing'),
  entryFieldType: error('RX303', 'a field of a log entry has the wrong type or value'),
  lineTooLong: error('RX304', 'a line of a `file` source is longer than `maxLineBytes` (skipped unread)'),

  processingFailed: error('RX400', 'processing an exchange failed otherwise, or its records cannot be stored'),
  whenFailed: error('RX401', 'a rule\'s `when` failed'),
  whenNotBoolean: error('RX402', 'a rule\'s `when` did not give a boolean'),
  dataFailed: error('RX403', 'a rule\'s `data` failed'),
  keyFailed: error('RX404', 'a rule\'s `key` failed'),
  keyEmpty: error('RX405', 'a rule\'s key is empty, so the event has no subject'),
  cdcKeyFailed: error('RX406', 'the resource key for CDC failed or is empty'),
  cdcStateFailed: error('RX407', '`x-reflex-cdc.state` failed'),
  cdcWhenFailed: error('RX408', '`x-reflex-cdc.when` failed or did not give a boolean'),
  unsafeKey: error('RX409', 'a key is a JSON number beyond 2^53, whose exact digits are lost'),
  retryUnreadable: error('RX410', 'a retried dead letter holds a log entry that could not be read; correct it and send it again'),
  ruleTimeout: error('RX411', 'an expression ran longer than `limits.ruleTimeout`'),
  ruleDepth: error('RX412', 'JSONata nested deeper than `limits.ruleDepth`'),
  eventSize: error('RX413', 'an event is larger than `limits.eventSize`'),

  sinkPermanent: error('RX500', 'a sink cannot write a batch and retrying will not heal it (permission denied, disk full, a value the table refuses); it retries with backoff until an operator fixes the cause'),
} as const satisfies Record<string, CodeInfo>;

type CodeName = keyof typeof CODE_LIST;

/** Each code by name: `CODES.celSyntax` is `'RX120'`. */
export const CODES = Object.fromEntries(Object.entries(CODE_LIST).map(([name, info]) => [name, info.code])) as {
  readonly [N in CodeName]: (typeof CODE_LIST)[N]['code'];
};

export type RxCode = (typeof CODES)[CodeName];

/** Codes the HTTP API answers refusals with (`code` in the JSON body). */
export const API_CODE_LIST = {
  badQueryParameter: error('BAD_QUERY_PARAMETER', 'a query parameter out of its range (`parameter` names it): 400'),
  hostNotLoopback: error('HOST_NOT_LOOPBACK', 'without `server.ingestAuth`/`server.apiAuth` the Host header must be a loopback name: 403'),
  unsupportedMediaType: error('UNSUPPORTED_MEDIA_TYPE', 'ingest takes JSON/NDJSON media types only: 415'),
  badCloudEvent: error('BAD_CLOUDEVENT', 'a published event breaks CloudEvents 1.0 (`pointer` says where): 400'),
  streamLocked: error('STREAM_LOCKED', 'a stream written by rules, or by another producer, refuses a publisher: 423'),
  /** Not in the body (`{ error, field }`, as before); the webhook routes answer with the error's status. */
  webhookRequest: error('BAD_WEBHOOK_REQUEST', 'a `/webhooks` request naming no such endpoint or event (404), one declared in reflex.yaml (409), or a value it cannot take (400, `field` names it)'),
  /** Not in the 503 body (`{ error }` only, as before); callers in the process switch on it. */
  backpressure: error('BACKPRESSURE', 'a sink is past its `maxBacklog`, or reflex is stopping: 503 with Retry-After, nothing stored'),
} as const satisfies Record<string, CodeInfo>;

export const API_CODES = Object.fromEntries(Object.entries(API_CODE_LIST).map(([name, info]) => [name, info.code])) as {
  readonly [N in keyof typeof API_CODE_LIST]: (typeof API_CODE_LIST)[N]['code'];
};

export type ApiCode = (typeof API_CODES)[keyof typeof API_CODES];
