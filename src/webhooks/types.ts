/** Webhook endpoints: registered over the API (`POST /webhooks`) or declared in reflex.yaml. */

export interface WebhookSettings {
  /** Deliver to loopback, private and link-local addresses (tests, trusted networks). */
  allowPrivateAddresses: boolean;
  /** Delay before each attempt; the first is usually 0 (immediately). Its length is the number of attempts. */
  retryScheduleMs: number[];
  /** Each delay is spread by ±this fraction so that many failed deliveries do not retry in lockstep. */
  jitter: number;
  timeoutMs: number;
  /** An endpoint that has failed without a success for this long is disabled. */
  disableAfterMs: number;
  /** After `rotate-secret`, the previous secret keeps signing beside the new one this long. */
  rotationGraceMs: number;
  maxResponseBytes: number;
  /** Deliveries in flight per endpoint (never two of one key). */
  concurrency: number;
}

export const DEFAULT_WEBHOOK_SETTINGS: WebhookSettings = {
  allowPrivateAddresses: false,
  retryScheduleMs: [0, 5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000],
  jitter: 0.2,
  timeoutMs: 15_000,
  disableAfterMs: 5 * 86_400_000,
  rotationGraceMs: 86_400_000,
  maxResponseBytes: 4096,
  concurrency: 16,
};

/** What a caller (or a config block) says about an endpoint. */
export interface EndpointInput {
  url: string;
  streams: string[];
  types?: string[] | null;
  /** CEL over the event (`event.type`, `event.data.total > 100`, ...). */
  filter?: string | null;
  secret?: string | null;
  description?: string | null;
  enabled?: boolean;
}

/** An endpoint as the API shows it: never its secrets. */
export interface WebhookEndpoint {
  id: string;
  url: string;
  streams: string[];
  types: string[] | null;
  filter: string | null;
  description: string | null;
  enabled: boolean;
  disabledReason: string | null;
  disabledAt: string | null;
  failingSince: string | null;
  origin: 'api' | 'config';
  createdAt: string;
  updatedAt: string;
}

export type MessageStatus = 'pending' | 'delivered' | 'dead';

/** One event for one endpoint, with its delivery state. */
export interface WebhookMessage {
  id: number;
  endpointId: string;
  eventId: string;
  stream: string;
  offset: number;
  key: string | null;
  status: MessageStatus;
  attempts: number;
  nextAttemptAt: string | null;
  lastStatusCode: number | null;
  lastError: string | null;
  createdAt: string;
}

/** One HTTP attempt, for `GET /webhooks/{id}/deliveries`. */
export interface DeliveryAttempt {
  id: number;
  eventId: string;
  attempt: number;
  time: string;
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
  responseBody: string | null;
  /** When the next attempt is due; null when delivered, dead, or the endpoint was disabled. */
  nextRetryAt: string | null;
}

/** What a sink connector may ask of the webhook service (declaring endpoints from reflex.yaml). */
export interface WebhookRegistrar {
  declare(id: string, input: EndpointInput): void;
}
