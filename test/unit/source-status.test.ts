import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinRegistry } from '../../connectors/index.js';
import { defaultConfig } from '../../src/config/types.js';
import { createLogger, silentLogger } from '../../src/logger.js';
import { createRegistry, defineSource, sourceError, Type, type SourceProgress } from '../../src/sdk/index.js';
import { SourceMonitor } from '../../src/sources/monitor.js';
import { startReflex, type RunningReflex } from '../../src/runtime.js';
import { loadSpecSet } from '../../src/spec/compile.js';
import { kongLog } from '../support/kong-log.js';

/** A source whose status the test sets, as a pulled source that loses its bucket would report. */
const fake = { progress: { state: 'running' } as SourceProgress };
const fakeSource = defineSource({
  type: 'fake',
  summary: 'reports what the test sets',
  config: Type.Object({}, { additionalProperties: false }),
  name: { text: 'fake', of: () => 'fake' },
  create: () => ({ async start() {}, async stop() {}, status: () => fake.progress }),
});

const kongLine = (id: string) => JSON.stringify(kongLog({ id, startedAt: Date.parse('2026-11-01T10:00:00Z'), method: 'GET', path: '/v1/orders/1', status: 200 }));

describe('GET /sources and /readyz', () => {
  const dir = mkdtempSync(join(tmpdir(), 'reflex-sources-'));
  const file = join(dir, 'kong.ndjson');
  let running: RunningReflex;

  beforeAll(async () => {
    writeFileSync(file, `${kongLine('f1')}\n${kongLine('f2')}\n`);
    const builtin = builtinRegistry();
    const registry = createRegistry({ sources: [...builtin.sources.values(), fakeSource], sinks: [...builtin.sinks.values()], formats: [...builtin.formats.values()] });
    const config = defaultConfig();
    config.server.port = 0;
    config.store.path = join(dir, 'reflex.db');
    config.sources = [{ type: 'file', path: file, format: 'kong', pollMs: 50 }, { type: 'fake' }];
    running = await startReflex(config, await loadSpecSet(['examples/shop/openapi.yaml']), registry, silentLogger);
  });
  afterAll(async () => {
    await running?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const sources = async () => (await running.app.inject({ method: 'GET', url: '/sources' })).json() as Array<Record<string, any>>;

  it('lists every source with its state, position and what it read', async () => {
    const ingested = await running.app.inject({ method: 'POST', url: '/ingest/kong', headers: { 'content-type': 'application/json' }, payload: kongLine('h1') });
    expect(ingested.statusCode).toBe(200);
    for (let i = 0; i < 100 && (await sources()).find((s) => s.type === 'file')?.read.entries !== 2; i++) await new Promise((r) => setTimeout(r, 20));

    const list = await sources();
    expect(list.map((s) => s.name)).toEqual(['http:/ingest/kong', 'http:/ingest/exchanges', `file:${file}`, 'fake']);
    expect(list[0]).toEqual({ type: 'http', name: 'http:/ingest/kong', state: 'running', read: { entries: 1 } });
    expect(list[2]).toMatchObject({
      type: 'file',
      state: 'idle',
      position: { path: file, offset: statSync(file).size, line: 2 },
      positionTime: '2026-11-01T10:00:00.000Z',
      lagSeconds: 0,
      read: { entries: 2, bytes: statSync(file).size },
      remaining: { bytes: 0 },
    });
  });

  it('makes /readyz answer 503 with the reason while a source is degraded, and 200 once it recovers', async () => {
    expect((await running.app.inject({ method: 'GET', url: '/readyz' })).json()).toEqual({ status: 'ready' });

    const denied = Object.assign(new Error('Access Denied for bucket gw-logs'), { name: 'AccessDenied' });
    fake.progress = { state: 'degraded', lastError: sourceError(denied, new Date('2026-11-01T10:00:00Z')) };
    const down = await running.app.inject({ method: 'GET', url: '/readyz' });
    expect(down.statusCode).toBe(503);
    expect(down.json()).toEqual({ status: 'degraded', sources: [{ source: 'fake', type: 'fake', code: 'AccessDenied', at: '2026-11-01T10:00:00.000Z' }] });
    // The message (it may name hosts and buckets) is behind the API credential, not on the open probe.
    expect((await sources()).find((s) => s.name === 'fake')).toMatchObject({ state: 'degraded', lastError: { code: 'AccessDenied', message: 'Access Denied for bucket gw-logs' } });

    fake.progress = { state: 'idle', lastError: fake.progress.lastError! };
    const up = await running.app.inject({ method: 'GET', url: '/readyz' });
    expect(up.statusCode).toBe(200);
  });
});

describe('source progress in the log', () => {
  function monitorWith(progress: () => SourceProgress) {
    const lines: Array<Record<string, unknown>> = [];
    const logger = createLogger({ json: true, write: (l) => lines.push(JSON.parse(l) as Record<string, unknown>) });
    const monitor = new SourceMonitor(logger, { pollMs: 1_000, lagLogMs: 30_000 });
    monitor.track('s3', 's3:gw-logs').attach({ async start() {}, async stop() {}, status: progress });
    monitor.setActive('s3:gw-logs', true);
    return { monitor, lines };
  }

  it('says when a source catches up, every 30 s while it does, and once when it caught up', () => {
    let progress: SourceProgress = { state: 'catching-up', position: { key: 'kong/2026/11/01/a.gz' }, lagSeconds: 3600, remaining: { objects: 12 } };
    const { monitor, lines } = monitorWith(() => progress);
    monitor.poll(0);
    monitor.poll(1_000);
    monitor.poll(29_000);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'info', message: 'source catching up', source: 's3:gw-logs', position: { key: 'kong/2026/11/01/a.gz' }, lagSeconds: 3600, remaining: { objects: 12 }, read: { entries: 0 } });
    progress = { ...progress, position: { key: 'kong/2026/11/01/m.gz' }, lagSeconds: 1800 };
    monitor.poll(30_000);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatchObject({ message: 'source catching up', position: { key: 'kong/2026/11/01/m.gz' }, lagSeconds: 1800 });
    progress = { state: 'idle', position: { key: 'kong/2026/11/01/z.gz' }, lagSeconds: 0 };
    monitor.poll(31_000);
    monitor.poll(62_000);
    expect(lines.slice(2)).toEqual([expect.objectContaining({ message: 'source caught up', position: { key: 'kong/2026/11/01/z.gz' } })]);
  });

  it('says once that a source degraded, with its error, and once that it recovered', () => {
    let progress: SourceProgress = { state: 'idle' };
    const { monitor, lines } = monitorWith(() => progress);
    monitor.poll(0);
    progress = { state: 'degraded', lastError: { code: 'NoSuchBucket', message: 'The specified bucket does not exist', at: '2026-11-01T10:00:00.000Z' } };
    monitor.poll(1_000);
    monitor.poll(2_000);
    progress = { ...progress, state: 'idle' };
    monitor.poll(3_000);
    expect(lines.map((l) => [l.level, l.message])).toEqual([
      ['warn', 'source degraded; /readyz answers 503 until it recovers'],
      ['info', 'source recovered'],
    ]);
    expect(lines[0]!.error).toMatchObject({ code: 'NoSuchBucket' });
  });

  it('reports a source stopped before its start and after its stop, whatever it says', () => {
    const { monitor } = monitorWith(() => ({ state: 'degraded', lastError: { code: 'x', message: 'y', at: '' } }));
    expect(monitor.problems()).toHaveLength(1);
    monitor.setActive('s3:gw-logs', false);
    expect(monitor.statuses()[0]!.state).toBe('stopped');
    expect(monitor.problems()).toEqual([]);
  });
});
