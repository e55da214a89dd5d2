import type { ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ClusterEngine, ClusterRecord } from '../cluster/types.js';
import { mergePages, sumCounts } from '../cluster/owned.js';
import type { Logger } from '../logger.js';
import { gatherOwned } from './cluster-gather.js';
import { openEventStream } from './event-stream.js';
import { PAGE_QUERY, QueryParameterError, pageKey, pageLimit, pagePosition } from './paging.js';

/** Partitions a position list may name (the kafka connectors' composite offsets leave room for 4096). */
const MAX_PARTITION = 4095;

/**
 * A tail's position per partition, `<partition>-<offset>` joined by commas (`0-41,1-17`): the
 * offset of the last record had of each named partition, `-1` for none yet (`2--1`: from its first
 * record). Null when it is not one.
 */
export function parsePositions(raw: string): Map<number, number> | null {
  if (!/^\d+-(?:\d+|-1)(?:,\d+-(?:\d+|-1))*$/.test(raw)) return null;
  const positions = new Map<number, number>();
  for (const item of raw.split(',')) {
    const dash = item.indexOf('-');
    const partition = Number(item.slice(0, dash));
    const offset = Number(item.slice(dash + 1));
    if (partition > MAX_PARTITION || !Number.isSafeInteger(offset) || positions.has(partition)) return null;
    positions.set(partition, offset);
  }
  return positions;
}

/**
 * The SSE id of a record: its own `<partition>-<offset>` first, then where the tail is on every
 * other partition. EventSource sends back only the last id it saw (Last-Event-ID), so the id must
 * carry every partition's position for a reconnect to miss nothing on the others.
 */
function eventId(record: ClusterRecord, positions: Map<number, number>): string {
  let id = `${record.partition}-${record.offset}`;
  for (const [partition, offset] of positions) if (partition !== record.partition) id += `,${partition}-${offset}`;
  return id;
}

/**
 * The HTTP surface that changes in cluster mode. `GET /cluster` shows the group; a resource key is
 * answered by the instance that owns its partition (this one, or a 307 to the owner's advertised
 * URL; 503 while the partition moves); a list of keys is gathered from every owner (503 while a
 * partition moves). Streams are Kafka topics in cluster mode: their records are
 * read from the topics (a page of one partition, or a live tail of all of them, read_committed);
 * a named consumer's positions are the committed offsets of a consumer group of its own, per
 * partition, so any instance answers the same. Per-event acknowledgements answer 501.
 */
export function registerClusterRoutes(app: FastifyInstance, engine: () => ClusterEngine | null, names: string[], topics: string, options: { heartbeatMs?: number; logger?: Logger } = {}): void {
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  const known = new Set(names);
  const unknownResource = (name: string) => ({ error: `no resource with cdc named '${name}'`, resources: names });
  // Open tails end when the server stops; otherwise they would keep it from closing.
  const tails = new Set<ServerResponse>();
  app.addHook('preClose', (done) => {
    for (const res of tails) res.end();
    done();
  });
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
  const noStream = async (reply: FastifyReply, e: ClusterEngine, name: string) =>
    reply.code(404).send({ error: `no stream named '${name}' is written to a kafka sink's topic`, streams: (await e.streams()).map((s) => s.name) });
  const noPartition = (reply: FastifyReply, name: string, found: { topic: string; partitions: number }, partition: number | null, field: { parameter: string } | { field: string }) => {
    const which = partition === null ? 'say which one' : `it has no partition ${partition}`;
    return reply.code(400).send({ error: `stream '${name}' is topic ${found.topic} with ${found.partitions} partitions: ${which} with partition=<0-${found.partitions - 1}>`, ...field });
  };
  // Per-event acknowledgements need a store that keeps each event's state; Kafka keeps one offset per partition.
  const noAcks = (what: string) => async (_request: unknown, reply: FastifyReply) =>
    reply.code(501).send({ error: `cluster mode: ${what} needs a store that keeps each event's acknowledgement, which cluster mode does not have (the stream is a Kafka topic); commit offsets per partition instead: POST /streams/{name}/offsets {consumer, partition, offset}, and read on with GET /streams/{name}/events?consumer=<c>&partition=<p>` });
  app.get<{ Params: { name: string }; Querystring: { partition?: string; after?: string; limit?: string; consumer?: string; visibility?: string } }>(
    '/streams/:name/events',
    {
      schema: {
        querystring: {
          type: 'object',
          properties: { partition: { type: 'string' }, after: PAGE_QUERY.after, limit: PAGE_QUERY.limit, consumer: { type: 'string', minLength: 1 }, visibility: { type: 'string' } },
          additionalProperties: false,
        },
      },
    },
    async (request, reply) => {
      const e = engine();
      if (!e) return starting(reply);
      const { name } = request.params;
      if (request.query.visibility !== undefined) return noAcks('visibility (events held in flight per consumer)')(request, reply);
      const partition = pagePosition('partition', request.query.partition) ?? null;
      const after = pagePosition('after', request.query.after) ?? null;
      const { consumer } = request.query;
      // A named consumer without `after` reads after its committed position on the partition; reading does not move it.
      const from = consumer !== undefined && after === null ? { consumer } : after;
      const read = await e.read(name, partition, from, pageLimit(request.query.limit));
      if (read.kind === 'no-topic') return noStream(reply, e, name);
      if (read.kind === 'no-partition') return noPartition(reply, name, read, partition, { parameter: 'partition' });
      return read.records;
    },
  );
  app.get<{ Params: { name: string } }>('/streams/:name/offsets', async (request, reply) => {
    const e = engine();
    if (!e) return starting(reply);
    const found = await e.positions(request.params.name);
    if (found.kind === 'no-topic') return noStream(reply, e, request.params.name);
    return found.consumers;
  });
  app.post<{ Params: { name: string }; Body: { consumer: string; partition?: number; offset: number } }>(
    '/streams/:name/offsets',
    {
      schema: {
        body: {
          type: 'object',
          required: ['consumer', 'offset'],
          additionalProperties: false,
          properties: { consumer: { type: 'string', minLength: 1, maxLength: 200 }, partition: { type: 'integer', minimum: 0 }, offset: { type: 'integer', minimum: -1 } },
        },
      },
    },
    async (request, reply) => {
      const e = engine();
      if (!e) return starting(reply);
      const { name } = request.params;
      const { consumer, offset } = request.body;
      const partition = request.body.partition ?? null;
      const done = await e.commit(name, consumer, partition, offset);
      if (done.kind === 'no-topic') return noStream(reply, e, name);
      if (done.kind === 'no-partition') return noPartition(reply, name, done, partition, { field: 'partition' });
      if (done.kind === 'past-end') {
        return reply.code(400).send({ error: `offset ${offset} is past the end of partition ${done.partition} of stream '${name}' (topic ${done.topic}, last offset ${done.last})`, field: 'offset' });
      }
      if (done.kind === 'busy') return reply.code(409).send({ error: `consumer '${consumer}' is the Kafka consumer group ${done.group}, which has members: a Kafka consumer uses that group, and its offsets are its own to commit` });
      return { consumer, partition: done.partition, offset: done.offset, lag: done.lag };
    },
  );
  app.post('/streams/:name/events/:offset/ack', noAcks('ack'));
  app.post('/streams/:name/events/:offset/nack', noAcks('nack'));
  app.get<{ Params: { name: string }; Querystring: { after?: string } }>(
    '/streams/:name/tail',
    { schema: { querystring: { type: 'object', properties: { after: { type: 'string' } }, additionalProperties: false } } },
    async (request, reply) => {
      const e = engine();
      if (!e) return starting(reply);
      const { name } = request.params;
      // A browser's EventSource resends Last-Event-ID on reconnect; a bad one is ignored, a bad `after` is not.
      const lastEventId = request.headers['last-event-id'];
      const resumed = typeof lastEventId === 'string' ? parsePositions(lastEventId) : null;
      const after = request.query.after === undefined ? null : parsePositions(request.query.after);
      if (request.query.after !== undefined && !after) {
        throw new QueryParameterError('after', `the offset of the last record had per partition, <partition>-<offset> joined by commas (0-41,1-17; -1 for none yet), each partition once`, request.query.after);
      }
      const parameter = resumed ? 'Last-Event-ID' : 'after';
      const opened = await e.tail(name, resumed ?? after ?? new Map());
      if (opened.kind === 'no-topic') return noStream(reply, e, name);
      if (opened.kind === 'no-partition') {
        return reply.code(400).send({ error: `stream '${name}' is topic ${opened.topic} with ${opened.partitions} partitions (0-${opened.partitions - 1}): ${parameter} names another`, parameter });
      }
      const { tail } = opened;
      const res = openEventStream(reply, name);
      let closed = false;
      // The client may have gone while the tail was opened: 'close' came before anyone listened.
      if (res.destroyed || !res.socket || res.socket.destroyed) {
        tail.close();
        return;
      }
      const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), heartbeatMs);
      tails.add(res);
      res.on('close', () => {
        tails.delete(res);
        closed = true;
        clearInterval(heartbeat);
        tail.close();
      });
      // Partitions in order, for ids that read the same from one record to the next.
      const positions = new Map([...tail.start].sort(([a], [b]) => a - b));
      void (async () => {
        while (!closed) {
          // Reads only when the client took the last batch: a full socket holds the tail where it is.
          const records = await tail.next();
          if (closed) return;
          // Nothing: the engine ended the tail (it is stopping).
          if (records.length === 0) return void res.end();
          let chunk = '';
          for (const r of records) {
            positions.set(r.partition, r.offset);
            chunk += `id: ${eventId(r, positions)}\ndata: ${JSON.stringify(r)}\n\n`;
          }
          if (!res.write(chunk)) await new Promise<void>((resolve) => {
            const go = () => {
              res.off('drain', go);
              res.off('close', go);
              resolve();
            };
            res.on('drain', go);
            res.on('close', go);
          });
        }
      })().catch((err: Error) => {
        options.logger?.warn('a stream tail failed; its connection is closed', { stream: name, error: err.message });
        res.destroy();
      });
    },
  );
  const singleNode = elsewhere('this route of /streams is single-node only (cluster mode serves /streams, /streams/{name}/events, /streams/{name}/offsets and /streams/{name}/tail)');
  app.get('/streams/*', singleNode);
  app.post('/streams/*', singleNode);
}
