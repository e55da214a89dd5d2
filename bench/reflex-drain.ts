/**
 * Waits until reflex has applied every CDC change it holds back for its reorder window (3 s by
 * default), so that the benchmark can count the CPU that this deferred work costs.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import type { ServerChild } from './children.js';

export async function drainCdc(server: ServerChild, timeoutMs = 60_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const res = await request(`${server.url}/resources`);
    const resources = (await res.body.json()) as Array<{ name: string; pending: number }>;
    const pending = resources.reduce((n, r) => n + r.pending, 0);
    if (pending === 0) return;
    if (performance.now() > deadline) throw new Error(`reflex still holds ${pending} CDC changes after ${timeoutMs / 1000} s`);
    await sleep(250);
  }
}
