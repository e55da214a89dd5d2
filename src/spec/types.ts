import type { CompiledExpression } from '../rules/expression.js';
import type { Diagnostic } from '../model/diagnostic.js';

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
}

export interface RouteMatch {
  operation: CompiledOperation;
  params: Record<string, unknown>;
}

export interface Router {
  /** `path` is the raw (percent-encoded) request path without the query string. */
  match(method: string, path: string): RouteMatch | null;
}
