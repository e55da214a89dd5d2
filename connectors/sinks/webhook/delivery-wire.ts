import type { ClientOptions } from './http-client.js';

/**
 * Messages between the main thread and the delivery thread (delivery-thread.ts), one per turn of
 * the sender's event loop. Posts and outcomes are flat arrays, a fixed number of fields each (a flat
 * array of strings and numbers clones faster than as many small objects).
 */
export interface ThreadRequest {
  opens: Array<{ client: number; options: ClientOptions }>;
  closes: number[];
  /**
   * POST_FIELDS per post: id, client, url, body, then eventId, timestampSeconds, secrets (signed on
   * the thread) or null, null, headers (sent as they are).
   */
  posts: unknown[];
}
export const POST_FIELDS = 7;

export interface ThreadReply {
  /** RESULT_FIELDS per post: id, kind, status, latencyMs, text (response body or error), retryAfter. */
  results: unknown[];
  /** Clients whose pools have closed. */
  closed: number[];
}
export const RESULT_FIELDS = 6;
