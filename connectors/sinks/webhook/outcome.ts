/** What one POST to an endpoint came to, as the HTTP client saw it. */
export type PostResult =
  | { kind: 'delivered'; status: number; latencyMs: number; responseBody: string }
  /** Any status outside 2xx, redirects included (they are not followed). */
  | { kind: 'failed-status'; status: number; retryAfter: string | null; latencyMs: number; responseBody: string }
  | { kind: 'network-error'; error: string; latencyMs: number }
  | { kind: 'timeout'; latencyMs: number }
  /** The address guard refused the URL or what its host resolved to (no request left). */
  | { kind: 'address-refused'; error: string; latencyMs: number };

/** A post result stamped with the time it was seen (ms), which the retry policy counts from. */
export type DeliveryOutcome = PostResult & { time: number };

/** The attempt's class in reflex_webhook_attempts_total: `2xx`…`5xx`, `timeout`, or `error` (no answer). */
export function attemptClass(o: PostResult): string {
  switch (o.kind) {
    case 'delivered':
    case 'failed-status':
      return `${Math.floor(o.status / 100)}xx`;
    case 'timeout':
      return 'timeout';
    case 'network-error':
    case 'address-refused':
      return 'error';
  }
}

/** The columns of the delivery log (`GET /webhooks/{id}/deliveries`) for an outcome. */
export function attemptColumns(o: PostResult): { statusCode: number | null; error: string | null; latencyMs: number; responseBody: string | null } {
  switch (o.kind) {
    case 'delivered':
      return { statusCode: o.status, error: null, latencyMs: o.latencyMs, responseBody: o.responseBody };
    case 'failed-status':
      return { statusCode: o.status, error: `HTTP ${o.status}`, latencyMs: o.latencyMs, responseBody: o.responseBody };
    case 'timeout':
      return { statusCode: null, error: 'timed out', latencyMs: o.latencyMs, responseBody: null };
    case 'network-error':
    case 'address-refused':
      return { statusCode: null, error: o.error, latencyMs: o.latencyMs, responseBody: null };
  }
}
