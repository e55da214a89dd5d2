import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ClusterEngine } from '../cluster/types.js';
import { mergePages, sumCounts } from '../cluster/owned.js';
import { gatherOwned } from './cluster-gather.js';
import { PAGE_QUERY, pageKey, pageLimit, pagePosition } from './paging.js';

/**
 * The HTTP surface that changes in cluster mode. `GET /cluster` shows the group; a resource key is
 * answered by the instance that owns its partition (this one, or a 307 to the owner's advertised
 * URL; 503 while the partition moves); a list of keys is gathered from every owner (503 while a
 * partition moves). Streams are Kafka topics in cluster mode: their records are
 * read from the topics (per partition, read_committed); the routes that keep consumer positions or
 * tail the local log answer 501 naming the topics, rather than an empty log.
 */
export function registerClusterRoutes(app: FastifyInstance, engine: () => ClusterEngine | null, names: string[], topics: string): void {
  const known = new Set(names);
  const unknownResource = (name: string) => ({ error: `no resource with cdc named '${name}'`, resources: names });
  const starting = (reply: FastifyReply) => reply.code(503).header('retry-after', '1').send({ error: 'reflex is joining the cluster' });

  app.get('/cluster', async (_request, reply) => {
    const e = engine();
    return e ? e.status() : starting(reply);
  });

  app.get<{ Params: { name: string; '*': string } }>('/resources/:name/*', async (request, reply) => {
    const { name } = request.params;
    if (!known.has(name)) return reply.code(404).send(unknownResource(name));
    const e = engine();
    if (!e) return starting(reply);
    const key = request.params['*'];
    const found = await e.resource(name, key);
    if (found.kind === 'owner') {
      return reply.code(307).header('location', `${found.url}/resources/${encodeURIComponent(name)}/${key}`).send({ partition: found.partition, owner: found.url });
    }
    if (found.kind === 'unavailable') {
      return reply.code(503).header('retry-after', '2').send({ error: `partition ${found.partition}, which holds ${name}/${key}, is moving between instances; ask again`, partition: found.partition });
    }
    const state = found.state;
    if (!state) return reply.code(404).send({ error: `no state for ${name}/${key}`, partition: found.partition });
    const time = new Date(state.timeMs).toISOString();
    if (state.deleted) return reply.code(404).send({ error: `${name}/${key} was deleted`, deleted: true, version: state.version, time, partition: found.partition });
    return { key, state: state.state, version: state.version, time, partition: found.partition };
  });

  const elsewhere = (what: string) => async (_request: unknown, reply: FastifyReply) =>
    reply.code(501).send({ error: `cluster mode: ${what}; the records are on the Kafka topics (${topics})` });
  // Lists of keys come from every partition owner: each answers for the partitions it runs.
  const resourcePage = (name: string, query: { after?: string; limit?: string }) => {
    const after = pageKey('after', query.after);
    const limit = pageLimit(query.limit);
    return { after, limit, own: () => engine()!.ownedResources(name, after, limit) };
  };
  const incomplete = (reply: FastifyReply, gathered: { missing: number[]; unreachable: string[] }) => {
    const why = gathered.unreachable.length > 0 ? `instances did not answer: ${gathered.unreachable.join(', ')}` : `partitions ${gathered.missing.join(', ')} are moving between instances`;
    return reply.code(503).header('retry-after', '2').send({ error: `cannot list every key: ${why}; ask again`, partitions: gathered.missing, unreachable: gathered.unreachable });
  };
  app.get('/cluster/resources', async (_request, reply) => {
    const e = engine();
    return e ? e.ownedSummary(names) : starting(reply);
  });
  app.get<{ Params: { name: string }; Querystring: { after?: string; limit?: string } }>('/cluster/resources/:name', async (request, reply) => {
    if (!known.has(request.params.name)) return reply.code(404).send(unknownResource(request.params.name));
    if (!engine()) return starting(reply);
    return resourcePage(request.params.name, request.query).own();
  });
  app.get('/resources', async (request, reply) => {
    const e = engine();
    if (!e) return starting(reply);
    const gathered = await gatherOwned(e, () => e.ownedSummary(names), '/cluster/resources', request.headers.authorization);
    if (gathered.kind === 'incomplete') return incomplete(reply, gathered);
    return sumCounts(gathered.parts, names).resources;
  });
  app.get<{ Params: { name: string }; Querystring: { after?: string; limit?: string } }>('/resources/:name', async (request, reply) => {
    const { name } = request.params;
    if (!known.has(name)) return reply.code(404).send(unknownResource(name));
    const e = engine();
    if (!e) return starting(reply);
    const page = resourcePage(name, request.query);
    const query = new URLSearchParams({ after: page.after, limit: String(page.limit) });
    const gathered = await gatherOwned(e, page.own, `/cluster/resources/${encodeURIComponent(name)}?${query}`, request.headers.authorization);
    if (gathered.kind === 'incomplete') return incomplete(reply, gathered);
    return mergePages(gathered.parts, page.limit).resources.map((r) => ({ key: r.key, state: r.state, version: r.version, time: new Date(r.timeMs).toISOString() }));
  });
  app.get('/streams', async (_request, reply) => {
    const e = engine();
    return e ? e.streams() : starting(reply);
  });
  app.get<{ Params: { name: string }; Querystring: { partition?: string; after?: string; limit?: string } }>(
    '/streams/:name/events',
    { schema: { querystring: { type: 'object', properties: { partition: { type: 'string' }, after: PAGE_QUERY.after, limit: PAGE_QUERY.limit }, additionalProperties: false } } },
    async (request, reply) => {
      const e = engine();
      if (!e) return starting(reply);
      const { name } = request.params;
      const partition = pagePosition('partition', request.query.partition) ?? null;
      const read = await e.read(name, partition, pagePosition('after', request.query.after) ?? null, pageLimit(request.query.limit));
      if (read.kind === 'no-topic') return reply.code(404).send({ error: `no stream named '${name}' is written to a kafka sink's topic`, streams: (await e.streams()).map((s) => s.name) });
      if (read.kind === 'no-partition') {
        const which = partition === null ? 'say which one' : `it has no partition ${partition}`;
        return reply.code(400).send({ error: `stream '${name}' is topic ${read.topic} with ${read.partitions} partitions: ${which} with partition=<0-${read.partitions - 1}>`, parameter: 'partition' });
      }
      return read.records;
    },
  );
  const positions = elsewhere('consumer positions and tails are Kafka\'s: read the topics with a consumer group');
  app.get('/streams/*', positions);
  app.post('/streams/*', positions);
}
