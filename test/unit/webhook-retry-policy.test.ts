import { describe, expect, it } from 'vitest';
import type { DeliveryOutcome } from '../../connectors/sinks/webhook/outcome.js';
import { nextAttempt, retryAfterMs } from '../../connectors/sinks/webhook/retry-policy.js';

const T = Date.parse('2026-11-03T08:00:00Z');
const settings = { retryScheduleMs: [0, 5_000, 300_000, 1_800_000], jitter: 0.2 };
const failed = (status: number, retryAfter: string | null = null): DeliveryOutcome =>
  ({ kind: 'failed-status', status, retryAfter, latencyMs: 1, responseBody: '', time: T });
const refused: DeliveryOutcome = { kind: 'network-error', error: 'ECONNREFUSED', latencyMs: 1, time: T };
const mid = () => 0.5;

describe('webhook retry policy', () => {
  it('follows the schedule, each delay spread within ±jitter by the random source', () => {
    expect(nextAttempt(refused, 1, settings, mid)).toEqual({ result: 'retry', at: T + 5_000 });
    expect(nextAttempt(refused, 2, settings, mid)).toEqual({ result: 'retry', at: T + 300_000 });
    expect(nextAttempt({ kind: 'timeout', latencyMs: 15_000, time: T }, 3, settings, mid)).toEqual({ result: 'retry', at: T + 1_800_000 });
    // The extremes of the random source are the extremes of the spread.
    expect(nextAttempt(refused, 2, settings, () => 0)).toEqual({ result: 'retry', at: T + 240_000 });
    expect(nextAttempt(refused, 2, settings, () => 0.999_999)).toEqual({ result: 'retry', at: T + 360_000 });
    for (let i = 0; i < 200; i++) {
      const next = nextAttempt(failed(500), 2, settings, Math.random);
      if (next.result !== 'retry') throw new Error('expected a retry');
      expect(next.at - T).toBeGreaterThanOrEqual(240_000);
      expect(next.at - T).toBeLessThanOrEqual(360_000);
    }
    expect(nextAttempt(refused, 1, { ...settings, jitter: 0 }, () => 0)).toEqual({ result: 'retry', at: T + 5_000 });
  });

  it('makes a dead letter after the last attempt of the schedule', () => {
    expect(nextAttempt(failed(500), 3, settings, mid).result).toBe('retry');
    expect(nextAttempt(failed(500), 4, settings, mid)).toEqual({ result: 'dead' });
    expect(nextAttempt(refused, 1, { retryScheduleMs: [0], jitter: 0.2 }, mid)).toEqual({ result: 'dead' });
  });

  it('delivers on 2xx, holds on 410 Gone (the endpoint is disabled, the message waits)', () => {
    expect(nextAttempt({ kind: 'delivered', status: 200, latencyMs: 1, responseBody: '', time: T }, 1, settings, mid)).toEqual({ result: 'delivered' });
    expect(nextAttempt(failed(410), 1, settings, mid)).toEqual({ result: 'held' });
    expect(nextAttempt(failed(410), 4, settings, mid)).toEqual({ result: 'held' });
  });

  it('waits at least as long as Retry-After on 429 and 503, in seconds or as an HTTP date', () => {
    expect(nextAttempt(failed(429, '120'), 1, settings, mid)).toEqual({ result: 'retry', at: T + 120_000 });
    expect(nextAttempt(failed(503, new Date(T + 90_000).toUTCString()), 1, settings, mid)).toEqual({ result: 'retry', at: T + 90_000 });
    // Sooner than the schedule: the schedule wins (Retry-After never hurries a retry).
    expect(nextAttempt(failed(503, '1'), 2, settings, mid)).toEqual({ result: 'retry', at: T + 300_000 });
    // A date in the past, or an unreadable value, leaves the schedule as it is.
    expect(nextAttempt(failed(503, new Date(T - 60_000).toUTCString()), 1, settings, mid)).toEqual({ result: 'retry', at: T + 5_000 });
    expect(nextAttempt(failed(429, 'soon'), 1, settings, mid)).toEqual({ result: 'retry', at: T + 5_000 });
  });

  it('caps Retry-After at the longest delay of the schedule, and ignores it on other statuses', () => {
    expect(nextAttempt(failed(429, String(7 * 86_400)), 1, settings, mid)).toEqual({ result: 'retry', at: T + 1_800_000 });
    expect(nextAttempt(failed(500, '120'), 1, settings, mid)).toEqual({ result: 'retry', at: T + 5_000 });
    expect(nextAttempt(failed(429, '120'), 4, settings, mid)).toEqual({ result: 'dead' });
  });

  it('reads Retry-After as delay-seconds or an IMF-fixdate', () => {
    expect(retryAfterMs('30', T)).toBe(30_000);
    expect(retryAfterMs(' 0 ', T)).toBe(0);
    expect(retryAfterMs('Tue, 03 Nov 2026 08:01:00 GMT', T)).toBe(60_000);
    expect(retryAfterMs('-5', T)).toBeNull();
    expect(retryAfterMs('', T)).toBeNull();
  });
});
