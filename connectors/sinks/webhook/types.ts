/** Webhook endpoints: registered over the API (`POST /webhooks`) or declared in reflex.yaml. */
export type { WebhookSettings } from '../../../src/sdk/index.js';

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
