import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, startReflexProcess } from '../support/reflex-process.js';

const exchange = (id: string, body: unknown) => JSON.stringify({
  request: { id, time: '2026-11-02T11:00:00Z', method: 'POST', path: '/things', headers: { authorization: 'Bearer secret' } },
  response: { status: 201, headers: { 'content-type': 'application/json' }, body },
});

const NDJSON = { 'content-type': 'application/x-ndjson' };

describe('dead letters', () => {
  it('can be processed again after the rule is fixed; the events appear and the dead letter goes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reflex-dl-'));
    const spec = join(dir, 'fragile.yaml');
    copyFileSync(`${ROOT}test/e2e/fixtures/fragile.yaml`, spec);
    let reflex = await startReflexProcess(['--spec', spec, '--data', dir]);
    try {
      await fetch(`${reflex.url}/ingest/exchanges`, { method: 'POST', headers: NDJSON, body: [exchange('t1', { id: 'a', size: 50 }), exchange('t2', { id: 'b' })].join('\n') });
      const [dl] = (await (await fetch(`${reflex.url}/dead-letters`)).json()) as Array<{ id: number; requestKey: string; record: any }>;
      expect(dl).toMatchObject({ requestKey: 'http:t2', record: { request: { headers: { authorization: '[redacted]' } } } });

      const again = await fetch(`${reflex.url}/dead-letters/${dl!.id}/retry`, { method: 'POST' });
      expect(again.status).toBe(422);
      expect(((await again.json()) as any).diagnostic.code).toBe('RX401');

      await reflex.stop();
      writeFileSync(spec, readFileSync(spec, 'utf8').replace('response.status == 201 && response.body.size > 10', 'response.status == 201 && (!has(response.body.size) || response.body.size > 10)'));
      reflex = await startReflexProcess(['--spec', spec, '--data', dir]);

      const fixed = await fetch(`${reflex.url}/dead-letters/${dl!.id}/retry`, { method: 'POST' });
      expect(await fixed.json()).toEqual({ retried: dl!.id, records: 1 });
      const events = (await (await fetch(`${reflex.url}/streams/things/events`)).json()) as Array<{ key: string; value: any }>;
      expect(events.map((e) => [e.key, e.value.reflexrequestid])).toEqual([['a', 't1'], ['b', 't2']]);
      expect(await (await fetch(`${reflex.url}/dead-letters`)).json()).toEqual([]);
      expect((await fetch(`${reflex.url}/dead-letters/${dl!.id}/retry`, { method: 'POST' })).status).toBe(404);
      // The original entry sent again is still a duplicate.
      const resent = await fetch(`${reflex.url}/ingest/exchanges`, { method: 'POST', headers: NDJSON, body: exchange('t2', { id: 'b' }) });
      expect(await resent.json()).toMatchObject({ duplicates: 1, records: 0 });
    } finally {
      await reflex.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
