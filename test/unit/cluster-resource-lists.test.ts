import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import type { ResourceState } from '../../src/cdc/types.js';
import { mergePages, sumCounts } from '../../src/cluster/owned.js';
import type { ClusterEngine } from '../../src/cluster/types.js';
import { registerClusterRoutes } from '../../src/server/cluster-routes.js';

// In cluster mode a list of resource keys is gathered from every partition owner over HTTP. The
// engines are stand-ins holding keys per partition; the HTTP between the instances is real.

type Keyed = { key: string } & ResourceState;
const row = (key: string, deleted = false): Keyed => ({ key, state: deleted ? null : { id: key }, deleted, version: 1, timeMs: 0, requestId: `r-${key}` });

/** An engine that runs `owned` (partition: keys of customers) and sees `members` in the group. */
function engine(self: string, members: () => string[], owned: Map<number, Keyed[]>, partitions = 3): ClusterEngine {
  const parts = () => [...owned].map(([p, rows]) => ({ partitions: [p], rows }));
  return {
    status: async () => ({ instance: self, group: 'g', exchangesTopic: 'x', partitions, owned: [], members: members().map((url, i) => ({ memberId: `m${i}`, clientId: `c@${url}`, host: 'h', url, partitions: [] })) }),
    ownedResources: (_name: string, after: string, limit: number) =>
      mergePages(parts().map((p) => ({ partitions: p.partitions, resources: p.rows.filter((r) => !r.deleted && r.key > after).slice(0, limit) })), limit),
    ownedSummary: (names: readonly string[]) =>
      sumCounts(parts().map((p) => ({ partitions: p.partitions, resources: [{ name: 'customers', keys: p.rows.filter((r) => !r.deleted).length, deleted: p.rows.filter((r) => r.deleted).length, pending: 0 }] })), names),
  } as unknown as ClusterEngine;
}

const apps: FastifyInstance[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

async function instance(owned: Map<number, Keyed[]>, members: () => string[]): Promise<string> {
  const app = Fastify();
  apps.push(app);
  let url = '';
  registerClusterRoutes(app, () => engine(url, members, owned), ['customers'], 't.customers');
  url = await app.listen({ port: 0, host: '127.0.0.1' });
  return url;
}

describe('GET /resources in cluster mode', () => {
  it('pages every live key once, in key order, whichever instance is asked', async () => {
    const urls: string[] = [];
    urls.push(await instance(new Map([[0, [row('a'), row('d'), row('g', true)]], [1, [row('b'), row('e')]]]), () => urls));
    urls.push(await instance(new Map([[2, [row('c'), row('f'), row('h')]]]), () => urls));
    for (const asked of urls) {
      const keys: string[] = [];
      for (let after = ''; ;) {
        const res = await fetch(`${asked}/resources/customers?limit=2${after ? `&after=${after}` : ''}`);
        expect(res.status).toBe(200);
        const page = (await res.json()) as Array<{ key: string; state: unknown; time: string }>;
        if (page.length === 0) break;
        keys.push(...page.map((r) => r.key));
        after = page.at(-1)!.key;
      }
      expect(keys).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'h']);
    }
    expect(await (await fetch(`${urls[1]}/resources`)).json()).toEqual([{ name: 'customers', keys: 7, deleted: 1, pending: 0 }]);
  });

  it('answers 503 with Retry-After, naming what is missing, rather than a list without the keys of a partition that moves or an instance that is down', async () => {
    const urls: string[] = [];
    const moving = new Map<number, Keyed[]>([[2, [row('c')]]]);
    urls.push(await instance(new Map([[0, [row('a')]], [1, [row('b')]]]), () => urls));
    urls.push(await instance(moving, () => urls));
    moving.delete(2); // partition 2 is restoring on its new owner
    const res = await fetch(`${urls[0]}/resources/customers`);
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('2');
    expect(await res.json()).toMatchObject({ partitions: [2], error: expect.stringContaining('partitions 2 are moving') });

    await apps[1]!.close();
    const down = await fetch(`${urls[0]}/resources`);
    expect(down.status).toBe(503);
    expect(await down.json()).toMatchObject({ unreachable: [expect.stringContaining(urls[1]!)] });
  });

  it('refuses an unknown resource with 404 before asking anyone', async () => {
    const urls: string[] = [];
    urls.push(await instance(new Map([[0, []], [1, []], [2, []]]), () => [...urls, 'http://127.0.0.1:1']));
    const res = await fetch(`${urls[0]}/resources/nope`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: "no resource with cdc named 'nope'", resources: ['customers'] });
  });
});

