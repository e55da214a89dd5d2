import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { registerConsumerRoutes } from '../../src/server/consumer-routes.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';

// With store.sync full, ingest commits before its fsync and answers after it (store.durable()):
// the consumer API must not hand out a record that a power cut could still take back.
describe('consumer API and unsynced commits', () => {
  it('a page and a live tail answer only once what they read is on disk', async () => {
    const store = new SqliteStore({ path: ':memory:', retentionMs: 0, dedupeWindowMs: 60_000, synchronous: 'normal' });
    let synced!: () => void;
    let syncing = new Promise<void>((r) => (synced = r));
    Object.assign(store, { durable: () => syncing });
    store.commit({ entries: [{ requestKey: 'a', records: [{ stream: 'orders', key: 'k', value: { n: 1 } }] }] });
    const app = Fastify();
    registerConsumerRoutes(app, store, { heartbeatMs: 60_000 });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    try {
      let answered = false;
      const page = fetch(`${url}/streams/orders/events?after=0`).then(async (r) => ((answered = true), (await r.json()) as unknown[]));
      const tail = await fetch(`${url}/streams/orders/tail?after=0`);
      const reader = tail.body!.getReader();
      const text = new TextDecoder();
      let got = text.decode((await reader.read()).value); // the tail's preamble
      await new Promise((r) => setTimeout(r, 100));
      expect(answered).toBe(false);
      synced();
      expect(await page).toEqual([{ offset: 1, key: 'k', value: { n: 1 } }]);
      while (!got.includes('id: 1')) got += text.decode((await reader.read()).value);
      expect(got).toContain('data: {"n":1}');
      syncing = Promise.resolve();
      await reader.cancel();
    } finally {
      await app.close();
      store.close();
    }
  });
});
