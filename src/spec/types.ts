import type { CompiledExpression } from '../rules/expression.js';
import type { Diagnostic } from '../model/diagnostic.js';
import type { Contracts } from '../contracts/contracts.js';

/** Where an annotation came from, for diagnostics and dead letters. */
export interface SourceLocation {
  file: string;
  pointer: string;
  line?: number;
  column?: number;
}

export type CdcOp = 'create' | 'update' | 'delete' | 'read' | 'none';

/** A path parameter as the route tree converts it. */
export interface PathParam {
  name: string;
  /** JSON Schema type of the parameter: the route tree converts the raw segment to it. */
  type: 'string' | 'integer' | 'number' | 'boolean';
}

export interface CompiledRule {
  /** `type` as annotated, and the CloudEvents type (`<typePrefix>.<type>`). */
  type: string;
  eventType: string;
  /** Position in the operation's `x-reflex-events`; with the request id it makes the event id. */
  index: number;
  /** CEL; default `response.status < 400`. */
  when: CompiledExpression;
  /** JSONata; default `response.body`. */
  data: CompiledExpression;
  /** JSONata; null means the resource key (or no subject when there is no resource). */
  key: CompiledExpression | null;
  stream: string;
  location: SourceLocation;
}

export interface CompiledResourceRef {
  name: string;
  /** JSONata producing the resource key (per-path override or the resource's default). */
  key: CompiledExpression;
  cdc: boolean;
}

export interface CompiledOperation {
  /** operationId, or `<METHOD> <path>` when the spec gives none. */
  id: string;
  method: string;
  /** Path template as written in the spec, e.g. `/orders/{orderId}`. */
  path: string;
  params: PathParam[];
  resource: CompiledResourceRef | null;
  rules: CompiledRule[];
  /** `when` (CEL) decides whether the exchange changes state; default: a 2xx response. */
  cdc: { op: CdcOp; state: CompiledExpression | null; when: CompiledExpression };
  /** From the spec's `x-reflex`: CloudEvents `source` for events of this operation. */
  source: string;
  specFile: string;
  location: SourceLocation;
}

export interface StreamInfo {
  name: string;
  kind: 'events' | 'changelog';
  resource: string | null;
  specFile: string;
  /**
   * Changelog streams: the JSON Schema of the resource's state where the spec says it (the JSON
   * response of an operation that keeps the default state), dereferenced.
   */
  stateSchema?: Record<string, unknown>;
}

/** Redaction paths, parsed once: `request.headers.authorization` -> ['request','headers','authorization']. */
export type RedactPath = string[];

/** What a spec set compiles to: everything the pipeline needs, nothing parsed per exchange. */
export interface CompiledSpecSet {
  files: string[];
  operations: CompiledOperation[];
  streams: StreamInfo[];
  /** Per spec file: base paths of its `servers` (e.g. `/v1`), stripped before matching. */
  router: Router;
  redact: RedactPath[];
  /** Non-fatal findings (warnings). Errors throw a DiagnosticError instead. */
  warnings: Diagnostic[];
  /** JSON Schemas of every event type's data and every CDC resource's state and change records. */
  contracts: Contracts;
}

/**
 * Which path a spec describes (`x-reflex.match`): `auto` tries the client's path, then the upstream's;
 * `client` and `upstream` take only one, for specs where both would match different operations.
 */
export type PathMatchMode = 'auto' | 'client' | 'upstream';

/** The paths of one exchange, as route matching reads them. */
export interface RequestPaths {
  method: string;
  /** What the client called (raw, percent-encoded, no query string). */
  path: string;
  /** What the upstream saw after the gateway stripped or rewrote a prefix; null when not logged. */
  upstreamPath: string | null;
  /** The gateway route's path prefix (Kong `route.paths`), when logged. */
  routePrefix?: string | null | undefined;
}

export interface RouteMatch {
  operation: CompiledOperation;
  params: Record<string, unknown>;
}

export interface Router {
  /** One path tried against the server base paths. `path` is raw (percent-encoded), without the query string. */
  match(method: string, path: string): RouteMatch | null;
  /** The client path against the base paths first, then the upstream path with and without them. */
  route(request: RequestPaths): RouteMatch | null;
  /** What `route` tried, in order, and what each try found: for unmatched exchanges and `reflex test --explain`. */
  explain(request: RequestPaths): RouteAttempt[];
}

export interface RouteAttempt {
  /** `client`: the path the client called; `upstream`: the path the service saw; `route`: the client path without the gateway route's prefix. */
  kind: 'client' | 'upstream' | 'route';
  path: string;
  /** true: the spec's server base paths were stripped first; false: the path was taken as already stripped. */
  withBase: boolean;
  /** The base paths that apply (non-empty ones). */
  basePaths: string[];
  /** What happened: the operation found, or why none. */
  result:
    | { found: true; operationId: string; template: string; specFile: string }
    | { found: false; reason: 'no-base-path' | 'no-operation' | 'other-method' | 'excluded'; templates?: string[] };
}
