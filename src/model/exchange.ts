/**
 * The canonical request/response record that every collector produces and every rule sees.
 * Field names are fixed by DESIGN.md ("Exchange"); collectors fill what they have.
 */

export type HeaderMap = Record<string, string>;
export type QueryMap = Record<string, string | string[]>;

export interface ExchangeRequest {
  /** Gateway request id (Kong `request.id`, Envoy `x-request-id`), else a hash of the raw record. */
  id: string;
  /** RFC 3339 time the gateway received the request. */
  time: string;
  method: string;
  scheme: string | null;
  host: string | null;
  /** Path the client called (before the gateway stripped or rewrote a prefix), percent-encoded as logged, without the query string. */
  path: string;
  /** Path the upstream service saw (Kong `upstream_uri`, Envoy `:path` after a rewrite); null when the gateway does not log it. */
  upstreamPath: string | null;
  query: QueryMap;
  headers: HeaderMap;
  body: unknown;
  /** Filled by route matching: the operation's path template. */
  route: string | null;
  /** Filled by route matching: path parameters converted to their schema types. */
  params: Record<string, unknown>;
}

export interface ExchangeResponse {
  status: number;
  headers: HeaderMap;
  body: unknown;
  latencyMs: number | null;
}

export type GatewayKind = 'kong' | 'envoy' | 'aws-apigw' | 's3' | 'elasticsearch' | 'kafka' | 'http';

export interface Exchange {
  request: ExchangeRequest;
  response: ExchangeResponse;
  client: { ip: string | null; consumer: string | null };
  gateway: {
    kind: GatewayKind;
    service: string | null;
    route: string | null;
    node: string | null;
    /** Path prefix of the gateway route the request came through (Kong `route.paths`), when logged. */
    routePrefix?: string | null;
  };
  operation: { id: string; method: string; path: string } | null;
}
