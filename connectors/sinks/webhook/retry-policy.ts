import type { DeliveryOutcome } from './outcome.js';
import type { WebhookSettings } from './types.js';

/** What becomes of a message after an attempt. */
export type NextStep =
  | { result: 'delivered' }
  | { result: 'retry'; at: number }
  | { result: 'dead' }
  /** The endpoint is gone (410): it is disabled and the message stays pending for when it is enabled again. */
  | { result: 'held' };

/** Answers whose `Retry-After` says when the receiver wants to be asked again. */
const RETRY_AFTER_STATUSES = new Set([429, 503]);

/**
 * The next attempt after `outcome`, the `attempts`-th (this one included): the schedule's next
 * delay spread by ±jitter (`rng` in [0, 1)), never sooner than the receiver's `Retry-After`, which
 * is capped at the schedule's longest delay so that a receiver cannot park a message for days.
 * After the schedule's last attempt the message is a dead letter.
 */
export function nextAttempt(
  outcome: DeliveryOutcome,
  attempts: number,
  settings: Pick<WebhookSettings, 'retryScheduleMs' | 'jitter'>,
  rng: () => number,
): NextStep {
  if (outcome.kind === 'delivered') return { result: 'delivered' };
  if (outcome.kind === 'failed-status' && outcome.status === 410) return { result: 'held' };
  const schedule = settings.retryScheduleMs;
  if (attempts >= schedule.length) return { result: 'dead' };
  const spread = 1 + settings.jitter * (rng() * 2 - 1);
  let delay = Math.round(schedule[attempts]! * spread);
  if (outcome.kind === 'failed-status' && RETRY_AFTER_STATUSES.has(outcome.status) && outcome.retryAfter !== null) {
    const asked = retryAfterMs(outcome.retryAfter, outcome.time);
    if (asked !== null) delay = Math.max(delay, Math.min(asked, Math.max(...schedule)));
  }
  return { result: 'retry', at: outcome.time + delay };
}

/** A `Retry-After` value (delay-seconds or an HTTP date, RFC 9110 §10.2.3) as ms from `now`; null when unreadable. */
export function retryAfterMs(value: string, now: number): number | null {
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // Every HTTP date form starts with the day's name; Date.parse alone would read '-5' as a year.
  if (!/^[A-Za-z]{3}/.test(text)) return null;
  const date = Date.parse(text);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}
