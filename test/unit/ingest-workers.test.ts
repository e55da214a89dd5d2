import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { generateKongLogs } from '../../bench/generate.js';
import { builtinRegistry } from '../../connectors/index.js';
import { defaultConfig } from '../../src/config/types.js';
import { silentLogger } from '../../src/logger.js';
import { startReflex, type RunningReflex } from '../../src/runtime.js';
import { loadSpecSet } from '../../src/spec/compile.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import { CRASH_MARKER, withWorkerKong } from '../support/worker-formats.js';

/**
 * ingest.workers: payloads decoded and processed on worker threads must give exactly what the main
 * thread gives, a worker that dies must cost only the batches it held (answered with an error,
 * nothing of them stored), and a stop with batches in flight must store each one whole or not at all.
 */

const SPEC = 'examples/shop/openapi.yaml';
const running: RunningReflex[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const r of running.splice(0)) await r.stop();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function start(workers: number, extraSources: Array<{ type: string; path: string; format: string }> = []): Promise<{ reflex: RunningReflex; dbPath: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'reflex-workers-'));
  dirs.push(dir);
  const config = defaultConfig();
  config.specs = [SPEC];
  config.server.port = 0;
  config.store.path = join(dir, 'reflex.db');
  config.cdc.reorderWindowMs = 0;
  config.ingest.workers = workers;
  config.sources = extraSources;
  const reflex = await startReflex(config, await loadSpecSet(config.specs), withWorkerKong(builtinRegistry()), silentLogger);
  running.push(reflex);
  return { reflex, dbPath: config.store.path };
}

async function post(reflex: RunningReflex, body: string, path = '/ingest/kong'): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${reflex.url}${path}`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Every stream's records (offset, key, value) and the dead letters, as a consumer would read them. */
function contents(reflex: RunningReflex) {
  const store = reflex.store;
  const streams = Object.fromEntries(store.streamNames().sort().map((s) => [s, store.read(s, 0, 100_000).map((r) => [r.offset, r.key, r.value])]));
  const deadLetters = store.deadLetters(0, 1000).map((d) => [d.requestKey, d.diagnostic, d.record]);
  return { streams, deadLetters, unmatched: store.unmatched().map((u) => [u.label, u.count]) };
}

const batches = (texts: string[], size: number) => Array.from({ length: Math.ceil(texts.length / size) }, (_, i) => `[${texts.slice(i * size, (i + 1) * size).join(',')}]`);

describe('ingest workers', () => {
  it('give the same records, change records, dead letters and answers as the main thread', async () => {
    // The shop mix: events, CDC creates and updates, unmatched paths, invalid entries.
    const { texts } = generateKongLogs({ count: 600, seed: 7 });
    // Plus entries that cannot be read (dead letters), and a batch sent again (duplicates).
    const unreadable = '{"request": {"method": "GET", "uri": "/shop/v1/orders/1", "id": "bad-1"}, "response": {"status": "teapot"}, "started_at": 1}';
    const payloads = [...batches(texts, 100), `[${texts.slice(0, 50).join(',')}, ${unreadable}]`];
    const inProcess = await start(0);
    const onWorkers = await start(2);
    const answersHere = [];
    const answersThere = [];
    for (const p of payloads) answersHere.push(await post(inProcess.reflex, p));
    for (const p of payloads) answersThere.push(await post(onWorkers.reflex, p));
    expect(answersThere).toEqual(answersHere);
    expect(answersHere.at(-1)!.body).toMatchObject({ received: 51, duplicates: 50, deadLetters: 1 });
    const here = contents(inProcess.reflex);
    expect(Object.keys(here.streams)).toEqual(expect.arrayContaining(['orders', 'orders.changelog', 'customers.changelog']));
    expect(here.deadLetters.length).toBeGreaterThan(0);
    expect(contents(onWorkers.reflex)).toEqual(here);
  });

  it('answer a malformed payload with 400 and its position, as the main thread does', async () => {
    const { reflex } = await start(1);
    const bad = await post(reflex, '[{"request": {}},\n {"oops": }]');
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ line: 2, column: 11 });
    expect(bad.body.error).toMatch(/malformed JSON/);
  });

  it('keep batches in arrival order when many are in flight', async () => {
    const { reflex } = await start(2);
    const { texts } = generateKongLogs({ count: 400, seed: 11 });
    const answers = await Promise.all(batches(texts, 20).map((p) => post(reflex, p)));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    // Offsets per stream follow request time here, because the generator's times grow with the
    // entry and every batch went in in order: the offsets order must be the times order.
    for (const stream of reflex.store.streamNames().filter((s) => !s.endsWith('.changelog'))) {
      const times = reflex.store.read(stream, 0, 100_000).map((r) => (r.value as { time: string }).time);
      expect(times).toEqual([...times].sort());
    }
  });

  it('a worker that dies fails only the batch it held: answered 500, nothing of it stored; the worker is replaced', async () => {
    const { reflex, dbPath } = await start(1, [{ type: 'http', path: '/ingest/crashing', format: 'kong-crashing' }]);
    const { texts } = generateKongLogs({ count: 300, seed: 5 });
    const [first, second, third] = batches(texts, 100);
    const before = await post(reflex, first!, '/ingest/crashing');
    expect(before.status).toBe(200);
    const stored = contents(reflex);

    const crashed = await post(reflex, `[${second!.slice(1, -1)}, {"${CRASH_MARKER}": true}]`, '/ingest/crashing');
    expect(crashed.status).toBe(500);
    expect(crashed.body.error).toMatch(/ingest worker .* stopped .*nothing of it was stored, send it again/);
    expect(contents(reflex)).toEqual(stored);

    // Until the new worker is up, batches are refused the same way; then they go through.
    let after = await post(reflex, third!, '/ingest/crashing');
    for (let i = 0; after.status !== 200 && i < 100; i++) {
      expect(after.status).toBe(500);
      await new Promise((r) => setTimeout(r, 100));
      after = await post(reflex, third!, '/ingest/crashing');
    }
    expect(after.body).toMatchObject({ received: 100, duplicates: 0 });
    await reflex.stop();
    // The acknowledged batches are in the store after it closed.
    const store = new SqliteStore({ path: dbPath, retentionMs: 0, dedupeWindowMs: 86_400_000, synchronous: 'full' });
    expect(store.seen(['x']).size).toBe(0);
    const orders = store.read('orders', 0, 100_000).length;
    store.close();
    expect(orders).toBeGreaterThan((stored.streams.orders as unknown[]).length);
  });

  it('a stop with batches in flight stores each of them whole or not at all, and answers accordingly', async () => {
    const { reflex, dbPath } = await start(2);
    const { texts } = generateKongLogs({ count: 2_000, seed: 9 });
    const payloads = batches(texts, 100);
    const first = await post(reflex, payloads[0]!);
    expect(first.status).toBe(200);
    const answers = payloads.slice(1).map((p) => post(reflex, p).catch((err: Error) => ({ status: 0, body: { error: err.message } })));
    await reflex.stop();
    const settled = [first, ...(await Promise.all(answers))];
    const store = new SqliteStore({ path: dbPath, retentionMs: 0, dedupeWindowMs: 86_400_000, synchronous: 'full' });
    try {
      for (const [i, answer] of settled.entries()) {
        const entries = JSON.parse(payloads[i]!) as Array<{ request: { id: string }; started_at: number }>;
        const keys = entries.map((e) => `${e.started_at.toString(36).padStart(9, '0')}|kong:${e.request.id}`);
        const kept = store.seen(keys).size;
        // 200: all of it stored; 503 (or the connection closed by the stop): none of it.
        if (answer.status === 200) expect(kept).toBe(entries.length);
        else expect([kept, answer.status === 0 || answer.status === 503]).toEqual([0, true]);
      }
    } finally {
      store.close();
    }
  });
});
