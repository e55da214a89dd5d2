import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, startReflexProcess } from '../support/reflex-process.js';

const session = readFileSync(`${ROOT}examples/shop/kong-session.ndjson`, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as unknown);

describe('a dead sink', () => {
  it('does not block ingest until its backlog limit; past it, ingest answers 503 with Retry-After and stores nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reflex-bp-'));
    // Nothing listens on port 1: every delivery fails and the backlog grows.
    writeFileSync(join(dir, 'reflex.yaml'), 'cdc: { reorderWindow: "0" }\nsinks:\n  - { type: kafka, brokers: ["127.0.0.1:1"], maxBacklog: 5 }\n');
    const reflex = await startReflexProcess(['--spec', `${ROOT}examples/shop/openapi.yaml`, '--data', dir, '--config', join(dir, 'reflex.yaml')]);
    try {
      const post = (entries: unknown[]) => fetch(`${reflex.url}/ingest/kong`, { method: 'POST', body: JSON.stringify(entries), headers: { 'content-type': 'application/json' } });
      expect((await post(session.slice(0, 8))).status).toBe(200);
      const refused = await post(session.slice(8));
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('5');
      expect(((await refused.json()) as { error: string }).error).toMatch(/sink 'kafka' is \d+ records behind \(maxBacklog 5\)/);
      const sinks = (await (await fetch(`${reflex.url}/sinks`)).json()) as Array<{ name: string; backlog: number; maxBacklog: number }>;
      expect(sinks).toEqual([expect.objectContaining({ name: 'kafka', maxBacklog: 5 })]);
      expect(sinks[0]!.backlog).toBeGreaterThan(5);
      // The refused batch left nothing behind: the same entries are new once accepted.
      const orders = (await (await fetch(`${reflex.url}/streams/orders/events`)).json()) as unknown[];
      expect(orders).toHaveLength(2);
    } finally {
      await reflex.kill9();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
