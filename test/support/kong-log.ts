/**
 * Builds Kong log objects exactly as `kong.log.serialize()` emits them (field set of Kong 3.8,
 * see test/fixtures/kong/kong-http-log-sample.json), plus `request.body` / `response.body` as the
 * reflex Kong plugin or `custom_fields_by_lua` add them (raw text).
 */
export interface KongCall {
  id: string;
  startedAt: number;
  method: string;
  /** Path the client sent, without the Kong route prefix (e.g. /v1/orders). */
  path: string;
  /** The Kong route's path (default /shop), put before `path` in what the client called. */
  routePath?: string;
  /** Kong's route `strip_path` (default true): whether the upstream sees the path without the route's. */
  stripPath?: boolean;
  query?: Record<string, string | string[] | true>;
  status: number;
  requestBody?: unknown;
  responseBody?: unknown;
  requestContentType?: string;
  responseContentType?: string;
  consumer?: string;
  authorization?: string;
  routeName?: string;
  clientIp?: string;
  latency?: number;
}

const SERVICE = {
  write_timeout: 60000, read_timeout: 60000, updated_at: 1726782459, host: 'shop-api.internal', name: 'shop-api',
  id: 'fb4eecf8-dec2-40ef-b779-16de7e2384c7', port: 8080, enabled: true, created_at: 1726782459, protocol: 'http',
  ws_id: 'f381e34e-5c25-4e65-b91b-3c0a86cfc393', connect_timeout: 60000, retries: 5,
};

export function kongLog(call: KongCall): Record<string, unknown> {
  const qs = call.query ?? {};
  const search = Object.entries(qs).flatMap(([k, v]) => (Array.isArray(v) ? v.map((x) => `${k}=${x}`) : [v === true ? k : `${k}=${v}`])).join('&');
  const routePath = call.routePath ?? '/shop';
  const stripPath = call.stripPath ?? true;
  const uri = `${routePath}${call.path}${search ? `?${search}` : ''}`;
  const reqText = call.requestBody === undefined ? undefined : typeof call.requestBody === 'string' ? call.requestBody : JSON.stringify(call.requestBody);
  const resText = call.responseBody === undefined ? undefined : typeof call.responseBody === 'string' ? call.responseBody : JSON.stringify(call.responseBody);
  const latency = call.latency ?? 23;
  const reqHeaders: Record<string, string> = {
    accept: 'application/json',
    'user-agent': 'shop-web/4.2.0 (+https://shop.example)',
    host: 'api.shop.example',
    connection: 'keep-alive',
    'accept-encoding': 'gzip, deflate, br',
    'x-forwarded-for': call.clientIp ?? '203.0.113.7',
    'x-request-start': String(call.startedAt),
  };
  if (call.authorization) reqHeaders.authorization = call.authorization;
  if (reqText !== undefined) {
    reqHeaders['content-type'] = call.requestContentType ?? 'application/json';
    reqHeaders['content-length'] = String(Buffer.byteLength(reqText));
  }
  const resHeaders: Record<string, string> = {
    date: new Date(call.startedAt + latency).toUTCString(),
    connection: 'keep-alive',
    via: '1.1 kong/3.8.0.0-enterprise-edition',
    server: 'shop-api/2.14.1',
    'x-kong-upstream-latency': String(latency - 2),
    'x-kong-proxy-latency': '1',
    'x-kong-request-id': call.id,
    'access-control-allow-origin': '*',
  };
  if (resText !== undefined) {
    resHeaders['content-type'] = call.responseContentType ?? (call.status >= 400 ? 'application/problem+json' : 'application/json');
    resHeaders['content-length'] = String(Buffer.byteLength(resText));
  }
  const log: Record<string, unknown> = {
    response: { size: 420 + (resText?.length ?? 0), headers: resHeaders, status: call.status, ...(resText !== undefined ? { body: resText } : {}) },
    route: {
      updated_at: 1726782477, tags: [], response_buffering: true, path_handling: 'v0', protocols: ['http', 'https'],
      service: { id: SERVICE.id }, https_redirect_status_code: 426, regex_priority: 0, name: call.routeName ?? 'shop-api',
      id: '0f1a4101-3327-4274-b1e4-484a4ab0c030', strip_path: stripPath, preserve_host: false, created_at: 1726782477,
      request_buffering: true, ws_id: SERVICE.ws_id, paths: [routePath],
    },
    workspace: SERVICE.ws_id,
    workspace_name: 'default',
    tries: [{ balancer_start: call.startedAt + 1, balancer_start_ns: (call.startedAt + 1) * 1e6, ip: '10.0.3.17', balancer_latency: 0, port: 8080, balancer_latency_ns: 27904 }],
    client_ip: call.clientIp ?? '203.0.113.7',
    request: {
      id: call.id,
      headers: reqHeaders,
      uri,
      size: 180 + (reqText?.length ?? 0),
      method: call.method,
      querystring: qs,
      url: `https://api.shop.example:443${uri}`,
      ...(reqText !== undefined ? { body: reqText } : {}),
    },
    upstream_uri: `${stripPath ? '' : routePath}${call.path}${search ? `?${search}` : ''}`,
    started_at: call.startedAt,
    source: 'upstream',
    upstream_status: String(call.status),
    latencies: { kong: 1, proxy: latency - 2, request: latency, receive: 1 },
    service: SERVICE,
  };
  if (call.consumer) {
    log.consumer = { id: 'ae974d6c-0f8a-4dc5-b701-fa0aa38592bd', created_at: 1674035962, username_lower: call.consumer.toLowerCase(), username: call.consumer, type: 0 };
    log.authenticated_entity = { id: 'c62c1455-9b1d-4f2d-8797-509ba83b8ae8' };
  }
  return log;
}
