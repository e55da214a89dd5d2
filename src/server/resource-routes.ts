import type { FastifyInstance } from 'fastify';
import type { EventStore } from '../store/types.js';
import { pageKey, pageLimit } from './paging.js';

/** Current state of resources with CDC: one key, or pages of keys in key order. */
export function registerResourceRoutes(app: FastifyInstance, store: EventStore, names: string[]): void {
  const known = new Set(names);
  const unknown = (name: string) => ({ error: `no resource with cdc named '${name}'`, resources: names });

  app.get('/resources', async () => store.resources(names));

  app.get<{ Params: { name: string }; Querystring: { after?: string; limit?: string } }>('/resources/:name', async (request, reply) => {
    const { name } = request.params;
    if (!known.has(name)) return reply.code(404).send(unknown(name));
    return store.listResource(name, pageKey('after', request.query.after), pageLimit(request.query.limit)).map((r) => ({
      key: r.key, state: r.state, version: r.version, time: new Date(r.timeMs).toISOString(),
    }));
  });

  // `*` so that composite keys (`tenant/id`, see keys.ts) need no extra encoding.
  app.get<{ Params: { name: string; '*': string } }>('/resources/:name/*', async (request, reply) => {
    const { name } = request.params;
    if (!known.has(name)) return reply.code(404).send(unknown(name));
    const key = request.params['*'];
    const state = store.getResource(name, key);
    if (!state) return reply.code(404).send({ error: `no state for ${name}/${key}` });
    const time = new Date(state.timeMs).toISOString();
    if (state.deleted) return reply.code(404).send({ error: `${name}/${key} was deleted`, deleted: true, version: state.version, time });
    return { key, state: state.state, version: state.version, time };
  });
}
