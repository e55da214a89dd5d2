import type { NextStep } from './retry-policy.js';

/** What an attempt's result does to its endpoint's health. */
export type HealthChange =
  | { change: 'none' }
  /** A success: the failure clock stops. */
  | { change: 'recovered' }
  /** The first failure since the last success starts the failure clock. */
  | { change: 'failing'; since: number }
  | { change: 'disable'; reason: string };

/**
 * A success clears the failure clock; `410 Gone` disables the endpoint at once; failing without a
 * success for `disableAfterMs` disables it too. `failingSince` is ms, or null.
 */
export function healthAfter(
  endpoint: { enabled: boolean; failingSince: number | null },
  result: NextStep['result'],
  time: number,
  disableAfterMs: number,
): HealthChange {
  if (result === 'delivered') return endpoint.failingSince !== null ? { change: 'recovered' } : { change: 'none' };
  if (result === 'held') return endpoint.enabled ? { change: 'disable', reason: 'the receiver answered 410 Gone' } : { change: 'none' };
  if (endpoint.failingSince === null) return { change: 'failing', since: time };
  if (endpoint.enabled && time - endpoint.failingSince >= disableAfterMs) {
    return { change: 'disable', reason: `failing since ${new Date(endpoint.failingSince).toISOString()}` };
  }
  return { change: 'none' };
}
