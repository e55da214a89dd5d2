import { setTimeout as sleep } from 'node:timers/promises';
import { BackpressureError } from './types.js';

export interface BackpressureWait {
  /** Aborted when the source stops: the wait ends at once with the signal's reason. */
  signal: AbortSignal;
  /** Called about once a second while waiting (e.g. a Kafka heartbeat); resolving false gives up with an AbortError. */
  whileWaiting?: (() => Promise<boolean> | boolean) | undefined;
  /** Told when a wait begins and when the batch went through after waiting. */
  onWait?: ((err: BackpressureError) => void) | undefined;
  onResume?: (() => void) | undefined;
}

/**
 * Runs `attempt` until no sink's backlog refuses it: each BackpressureError is waited out for its
 * Retry-After, then the same batch is tried again. Other errors pass through.
 */
export async function waitOutBackpressure<T>(attempt: () => Promise<T>, wait: BackpressureWait): Promise<T> {
  for (let waited = false; ; waited = true) {
    wait.signal.throwIfAborted();
    try {
      const result = await attempt();
      if (waited) wait.onResume?.();
      return result;
    } catch (err) {
      if (!(err instanceof BackpressureError)) throw err;
      if (!waited) wait.onWait?.(err);
      await pause(Math.max(err.retryAfterSeconds, 0.05) * 1_000, wait);
    }
  }
}

async function pause(ms: number, wait: BackpressureWait): Promise<void> {
  const until = Date.now() + ms;
  for (let left = ms; left > 0; left = until - Date.now()) {
    await sleep(Math.min(left, 1_000), undefined, { signal: wait.signal });
    if (wait.whileWaiting && !(await wait.whileWaiting())) throw new DOMException('gave up waiting for a sink to catch up', 'AbortError');
  }
}

/** True for the error a wait ends with when its source stops. */
export function isAbort(err: unknown): boolean {
  return err instanceof Error && err.name === 'AbortError';
}
