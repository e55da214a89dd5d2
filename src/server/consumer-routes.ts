import type { ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { EventStore } from '../store/types.js';
import { openEventStream } from './event-stream.js';
import { PAGE_QUERY, QueryParameterError, durationParameter, pageLimit, pagePosition } from './paging.js';

/**
 * The HTTP consumer API: list streams, page through a stream by offset, keep a consumer's offset,
 * and a live tail over Server-Sent Events that resumes from Last-Event-ID.
 */
export function registerConsumerRoutes(app: FastifyInstance, store: EventStore, options: { heartbeatMs?: number } = {}): void {
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  // Open tails end when the server stops; otherwise they would keep it from closing. In-flight
  // ingest requests, by contrast, are left to finish.
  const tails = new Set<ServerResponse>();
  app.addHook('preClose', (done) => {
    for (const res of tails) res.end();
    done();
  });

  const stream404 = (reply: FastifyReply, name: string) =>
    reply.code(404).send({ error: `no stream named '${name}'`, streams: store.streams().map((s) => s.name) });

  app.get('/streams', async () => store.streams());

  app.get<{ Params: { name: string }; Querystring: { after?: string; limit?: string; consumer?: string; visibility?: string } }>(
    '/streams/:name/events',
    {
      schema: {
        querystring: {
          type: 'object',
          properties: { after: PAGE_QUERY.after, limit: PAGE_QUERY.limit, consumer: { type: 'string', minLength: 1 }, visibility: { type: 'string' } },
          additionalProperties: false,
        },
      },
    },
    async (request, reply) => {
      const { name } = request.params;
      if (!store.hasStream(name)) return stream404(reply, name);
      const after = pagePosition('after', request.query.after);
      const limit = pageLimit(request.query.limit);
      const { consumer } = request.query;
      const visibility = request.query.visibility === undefined ? null : durationParameter('visibility', request.query.visibility);
      // A consumer reading from its committed offset gets what it has neither acknowledged nor holds in flight.
      const records = consumer && after === undefined ? unacknowledged(name, consumer, limit, visibility) : store.read(name, after ?? 0, limit);
      // Ingest may commit before its fsync (store.sync full, answered after it): nothing leaves reflex before it is on disk.
      await store.durable?.();
      return records.map((r) => ({ offset: r.offset, key: r.key, value: r.value }));
    },
  );

  /** Up to `limit` records past the consumer's committed offset that are neither acknowledged nor in flight. */
  const unacknowledged = (name: string, consumer: string, limit: number, visibilityMs: number | null) => {
    const now = Date.now();
    const out: ReturnType<EventStore['read']> = [];
    for (let from = store.acks.committed(name, consumer); out.length < limit;) {
      const page = store.read(name, from, limit);
      if (page.length === 0) break;
      const open = new Set(store.acks.take(name, consumer, page.map((r) => r.offset), now, null));
      for (const r of page) if (open.has(r.offset) && out.length < limit) out.push(r);
      from = page.at(-1)!.offset;
    }
    // What is handed out stays hidden from this consumer until acknowledged or its visibility ends.
    if (visibilityMs !== null) store.acks.take(name, consumer, out.map((r) => r.offset), now, visibilityMs);
    return out;
  };

  const ackBody = { type: 'object', required: ['consumer'], additionalProperties: false, properties: { consumer: { type: 'string', minLength: 1 }, delay: { type: 'string' } } } as const;
  const eventOf = (name: string, raw: string) => {
    const offset = pagePosition('offset', raw)!;
    if (offset < 1 || offset > store.lastOffset(name)) throw new QueryParameterError('offset', `an offset of stream '${name}' (1 to ${store.lastOffset(name)})`, raw);
    return offset;
  };
  app.post<{ Params: { name: string; offset: string }; Body: { consumer: string } }>('/streams/:name/events/:offset/ack', { schema: { body: ackBody } }, async (request, reply) => {
    const { name } = request.params;
    if (!store.hasStream(name)) return stream404(reply, name);
    const offset = eventOf(name, request.params.offset);
    const committed = store.acks.ack(name, request.body.consumer, offset);
    return { consumer: request.body.consumer, acknowledged: offset, committed };
  });
  app.post<{ Params: { name: string; offset: string }; Body: { consumer: string; delay?: string } }>('/streams/:name/events/:offset/nack', { schema: { body: ackBody } }, async (request, reply) => {
    const { name } = request.params;
    if (!store.hasStream(name)) return stream404(reply, name);
    const offset = eventOf(name, request.params.offset);
    const delayMs = request.body.delay === undefined ? 0 : durationParameter('delay', request.body.delay);
    if (!store.acks.nack(name, request.body.consumer, offset, Date.now() + delayMs)) {
      return reply.code(409).send({ error: `offset ${offset} of '${name}' is acknowledged already by '${request.body.consumer}'` });
    }
    return { consumer: request.body.consumer, returned: offset, visibleAt: new Date(Date.now() + delayMs).toISOString() };
  });

  app.get<{ Params: { name: string } }>('/streams/:name/offsets', async (request, reply) => {
    const { name } = request.params;
    if (!store.hasStream(name)) return stream404(reply, name);
    const last = store.lastOffset(name);
    return store.consumerOffsets(name).map((c) => ({ ...c, lag: Math.max(0, last - c.offset) }));
  });

  app.post<{ Params: { name: string }; Body: { consumer: string; offset: number } }>(
    '/streams/:name/offsets',
    {
      schema: {
        body: {
          type: 'object',
          required: ['consumer', 'offset'],
          additionalProperties: false,
          properties: { consumer: { type: 'string', minLength: 1 }, offset: { type: 'integer', minimum: 0 } },
        },
      },
    },
    async (request, reply) => {
      const { name } = request.params;
      if (!store.hasStream(name)) return stream404(reply, name);
      const { consumer, offset } = request.body;
      const last = store.lastOffset(name);
      if (offset > last) {
        return reply.code(400).send({ error: `offset ${offset} is past the end of stream '${name}' (last offset ${last})` });
      }
      store.setConsumerOffset(name, consumer, offset);
      return { consumer, offset, lag: last - offset };
    },
  );

  app.get<{ Params: { name: string }; Querystring: { after?: string } }>('/streams/:name/tail', async (request, reply) => {
    const { name } = request.params;
    if (!store.hasStream(name)) return stream404(reply, name);
    // A browser's EventSource resends Last-Event-ID on reconnect; a bad one is ignored, a bad `after` is not.
    const lastEventId = request.headers['last-event-id'];
    const after = pagePosition('after', request.query.after);
    const resume = typeof lastEventId === 'string' && /^\d+$/.test(lastEventId) ? Number(lastEventId)
      : after ?? store.lastOffset(name); // a fresh tail starts at the end, like `tail -f`
    const res = openEventStream(reply, name);
    let sent = resume;
    let waitingForDrain = false;
    let closed = false;
    let flushing = false;
    let again = false;
    // One flush at a time (a later call makes the running one go round again); records are sent only
    // once on disk (see above); a full socket pauses until drain.
    const flush = (): void => {
      if (flushing) {
        again = true;
        return;
      }
      if (waitingForDrain || closed) return;
      flushing = true;
      void (async () => {
        for (;;) {
          const batch = store.read(name, sent, 500);
          if (batch.length === 0) return;
          await store.durable?.();
          if (closed) return;
          let chunk = '';
          for (const r of batch) chunk += `id: ${r.offset}\ndata: ${JSON.stringify(r.value)}\n\n`;
          sent = batch[batch.length - 1]!.offset;
          if (!res.write(chunk)) {
            waitingForDrain = true;
            res.once('drain', () => {
              waitingForDrain = false;
              flush();
            });
            return;
          }
        }
      })().catch(() => res.destroy()).finally(() => {
        flushing = false;
        if (again) {
          again = false;
          flush();
        }
      });
    };
    const unsubscribe = store.onAppend((appended) => {
      if (appended.has(name)) flush();
    });
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), heartbeatMs);
    tails.add(res);
    res.on('close', () => {
      tails.delete(res);
      closed = true;
      clearInterval(heartbeat);
      unsubscribe();
    });
    flush();
  });

  app.get<{ Querystring: { after?: string; limit?: string } }>('/dead-letters', async (request) => {
    return store.deadLetters(pagePosition('after', request.query.after) ?? 0, pageLimit(request.query.limit));
  });

  app.get('/unmatched', async () => store.unmatched());
}
