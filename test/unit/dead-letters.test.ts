import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { builtinRegistry } from '../../connectors/index.js';
import { defaultConfig } from '../../src/config/types.js';
import { silentLogger } from '../../src/logger.js';
import { startReflex, type RunningReflex } from '../../src/runtime.js';
import { loadSpecSet } from '../../src/spec/compile.js';

// Route behaviour in process (app.inject); test/e2e/serve.test.ts keeps the dead letters of the compiled CLI.
const dir = mkdtempSync(join(tmpdir(), 'reflex-dl-'));
const running: RunningReflex[] = [];
afterAll(async () => {
  for (const r of running) await r.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** reflex over the store in `dir`, with the spec as it is on disk now. */
async function start(spec: string): Promise<RunningReflex> {
  const config = defaultConfig();
  config.server.port = 0;
  config.store.path = join(dir, 'reflex.db');
  const r = await startReflex(config, await loadSpecSet([spec]), builtinRegistry(), silentLogger);
  running.push(r);
  return r;
}

const exchange = (id: string, body: unknown) => JSON.stringify({
  request: { id, time: '2026-11-02T11:00:00Z', method: 'POST', path: '/things', headers: { authorization: 'Bearer secret' } },
  response: { status: 201, headers: { 'content-type': 'application/json' }, body },
});
const ingest = (r: RunningReflex, body: string) =>
  r.app.inject({ method: 'POST', url: '/ingest/exchanges', headers: { 'content-type': 'application/x-ndjson' }, payload: body });
const get = async (r: RunningReflex, url: string) => (await r.app.inject({ method: 'GET', url })).json();
const retry = (r: RunningReflex, id: number) => r.app.inject({ method: 'POST', url: `/dead-letters/${id}/retry` });

describe('dead letters', () => {
  it('can be processed again after the rule is fixed; the events appear and the dead letter goes', async () => {
    const spec = join(dir, 'fragile.yaml');
    copyFileSync(new URL('../e2e/fixtures/fragile.yaml', import.meta.url), spec);
    let reflex = await start(spec);
    await ingest(reflex, [exchange('t1', { id: 'a', size: 50 }), exchange('t2', { id: 'b' })].join('\n'));
    const [dl] = (await get(reflex, '/dead-letters')) as Array<{ id: number; requestKey: string; record: any }>;
    expect(dl).toMatchObject({ requestKey: 'http:t2', record: { request: { headers: { authorization: '[redacted]' } } } });

    const again = await retry(reflex, dl!.id);
    expect(again.statusCode).toBe(422);
    expect(again.json().diagnostic.code).toBe('RX401');

    await reflex.stop();
    writeFileSync(spec, readFileSync(spec, 'utf8').replace('response.status == 201 && response.body.size > 10', 'response.status == 201 && (!has(response.body.size) || response.body.size > 10)'));
    reflex = await start(spec);

    const fixed = await retry(reflex, dl!.id);
    expect(fixed.json()).toEqual({ retried: dl!.id, records: 1 });
    const events = (await get(reflex, '/streams/things/events')) as Array<{ key: string; value: any }>;
    expect(events.map((e) => [e.key, e.value.reflexrequestid])).toEqual([['a', 't1'], ['b', 't2']]);
    expect(await get(reflex, '/dead-letters')).toEqual([]);
    expect((await retry(reflex, dl!.id)).statusCode).toBe(404);
    // The original entry sent again is still a duplicate.
    expect((await ingest(reflex, exchange('t2', { id: 'b' }))).json()).toMatchObject({ duplicates: 1, records: 0 });
  });
});
