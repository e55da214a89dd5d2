import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, startReflexProcess } from '../support/reflex-process.js';

const SPEC = `${ROOT}test/fixtures/budgets/runaway.yaml`;
const NDJSON = { 'content-type': 'application/x-ndjson' };
const items = Array.from({ length: 3000 }, (_, i) => i);

const exchange = (id: string, path: string, body: unknown) => JSON.stringify({
  request: { id, time: '2026-11-02T11:00:00Z', method: 'POST', path, headers: { 'content-type': 'application/json' }, body },
  response: { status: 200, headers: { 'content-type': 'application/json' }, body: { ok: true } },
});

/** Runaway rules next to good ones: each runaway takes its whole time budget (limits.ruleTimeout, 50 ms). */
function batch(prefix: string, runaways: number): string {
  const lines = [exchange(`${prefix}-good-1`, '/ok', { n: 1, items })];
  for (let i = 0; i < runaways; i++) {
    lines.push(i % 2 ? exchange(`${prefix}-nested-${i}`, '/nested', { items }) : exchange(`${prefix}-loop-${i}`, '/loop', {}));
  }
  lines.push(exchange(`${prefix}-good-2`, '/ok', { n: 2, items }));
  return lines.join('\n');
}

describe('runaway rules', () => {
  it('become dead letters while /healthz keeps answering, the good entries commit, and SIGTERM stops the server promptly', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reflex-runaway-'));
    const reflex = await startReflexProcess(['--spec', SPEC, '--data', dir]);
    try {
      const ingest = fetch(`${reflex.url}/ingest/exchanges`, { method: 'POST', headers: NDJSON, body: batch('a', 16) });
      let done = false;
      void ingest.finally(() => (done = true));
      const latencies: number[] = [];
      while (!done) {
        const started = performance.now();
        const health = await fetch(`${reflex.url}/healthz`);
        await health.arrayBuffer();
        if (!done) latencies.push(performance.now() - started);
        expect(health.status).toBe(200);
      }
      const result = await (await ingest).json();
      expect(result).toMatchObject({ records: 2, deadLetters: 16 });
      expect(latencies.length).toBeGreaterThanOrEqual(5); // the batch took 16 budgets (~0.8 s) and /healthz was answered throughout
      // A runaway rule holds the loop for at most limits.ruleTimeout (50 ms); the margin is for a busy CI machine.
      const sorted = [...latencies].sort((a, b) => a - b);
      expect(sorted[Math.floor(sorted.length * 0.9)]).toBeLessThan(100);
      expect(sorted.at(-1)).toBeLessThan(250);

      const events = (await (await fetch(`${reflex.url}/streams/events/events`)).json()) as Array<{ value: { data: { n: number; total: number } } }>;
      expect(events.map((e) => e.value.data)).toEqual([{ n: 1, total: 4498500 }, { n: 2, total: 4498500 }]);
      const deadLetters = (await (await fetch(`${reflex.url}/dead-letters?limit=100`)).json()) as Array<{ requestKey: string; diagnostic: any }>;
      expect(deadLetters).toHaveLength(16);
      expect(deadLetters[0]!.diagnostic).toMatchObject({
        code: 'RX411', file: expect.stringMatching(/runaway\.yaml$/), line: 20,
        message: expect.stringMatching(/'data' of event Looped ran longer than limits\.ruleTimeout/),
      });
      expect(deadLetters[1]!.diagnostic).toMatchObject({ code: 'RX411', line: 34 });

      // SIGTERM in the middle of another such batch: the process ends within about one budget, not when the batch would.
      const inFlight = fetch(`${reflex.url}/ingest/exchanges`, { method: 'POST', headers: NDJSON, body: batch('b', 200) })
        .then(async (r) => ({ status: r.status, body: await r.text() }), (err: Error) => ({ status: 0, body: err.message }));
      await new Promise((resolve) => setTimeout(resolve, 200));
      const stopping = performance.now();
      expect(await reflex.stop()).toBe(0);
      expect(performance.now() - stopping).toBeLessThan(3000); // the batch alone would take 10 s
      // Nothing of the interrupted batch was stored or acknowledged: the gateway sends it again.
      expect(await inFlight).toMatchObject({ status: 503, body: expect.stringMatching(/reflex is stopping/) });
    } finally {
      await reflex.kill9();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
