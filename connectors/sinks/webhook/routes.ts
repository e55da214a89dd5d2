import type { FastifyInstance, FastifyReply } from 'fastify';
import { PAGE_QUERY, pageLimit, pagePosition } from '../../../src/sdk/index.js';
import type { EndpointInput } from './types.js';
import { WebhookInputError } from './errors.js';
import type { WebhookService } from './service.js';

const stringList = { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 } as const;
const endpointProperties = {
  url: { type: 'string', minLength: 1 },
  streams: stringList,
  types: { anyOf: [stringList, { type: 'null' }] },
  filter: { type: ['string', 'null'] },
  secret: { type: ['string', 'null'] },
  description: { type: ['string', 'null'] },
  enabled: { type: 'boolean' },
} as const;

/** `/webhooks`: register endpoints, look at their deliveries, retry and replay. */
export function registerWebhookRoutes(app: FastifyInstance, service: WebhookService): void {
  const fail = (reply: FastifyReply, err: unknown) => {
    if (err instanceof WebhookInputError) return reply.code(err.status).send(err.answerBody());
    throw err;
  };

  app.get('/webhooks', async () => service.list());

  app.post<{ Body: EndpointInput }>('/webhooks', {
    schema: { body: { type: 'object', required: ['url', 'streams'], additionalProperties: false, properties: endpointProperties } },
  }, async (request, reply) => {
    try {
      return reply.code(201).send(service.create(request.body));
    } catch (err) {
      return fail(reply, err);
    }
  });

  app.get<{ Params: { id: string } }>('/webhooks/:id', async (request, reply) => {
    const found = service.get(request.params.id);
    return found ?? reply.code(404).send({ error: `no webhook '${request.params.id}'` });
  });

  app.patch<{ Params: { id: string }; Body: Partial<EndpointInput> }>('/webhooks/:id', {
    schema: { body: { type: 'object', additionalProperties: false, properties: endpointProperties } },
  }, async (request, reply) => {
    try {
      return service.update(request.params.id, request.body);
    } catch (err) {
      return fail(reply, err);
    }
  });

  app.delete<{ Params: { id: string } }>('/webhooks/:id', async (request, reply) => {
    try {
      service.delete(request.params.id);
      return reply.code(204).send();
    } catch (err) {
      return fail(reply, err);
    }
  });

  app.post<{ Params: { id: string }; Body: { secret?: string } | undefined }>('/webhooks/:id/rotate-secret', {
    schema: { body: { type: ['object', 'null'], additionalProperties: false, properties: { secret: { type: 'string' } } } },
  }, async (request, reply) => {
    try {
      return service.rotateSecret(request.params.id, request.body?.secret);
    } catch (err) {
      return fail(reply, err);
    }
  });

  app.get<{ Params: { id: string }; Querystring: { before?: string; limit?: string; eventId?: string } }>('/webhooks/:id/deliveries', {
    schema: { querystring: { type: 'object', additionalProperties: false, properties: {
      before: PAGE_QUERY.before, limit: PAGE_QUERY.limit, eventId: { type: 'string' },
    } } },
  }, async (request, reply) => {
    try {
      const { eventId } = request.query;
      const before = pagePosition('before', request.query.before);
      return service.deliveries(request.params.id, {
        limit: pageLimit(request.query.limit),
        ...(before !== undefined ? { before } : {}),
        ...(eventId !== undefined ? { eventId } : {}),
      });
    } catch (err) {
      return fail(reply, err);
    }
  });

  app.get<{ Params: { id: string }; Querystring: { status?: 'pending' | 'delivered' | 'dead'; after?: string; limit?: string } }>('/webhooks/:id/messages', {
    schema: { querystring: { type: 'object', additionalProperties: false, properties: {
      status: { enum: ['pending', 'delivered', 'dead'] }, after: PAGE_QUERY.after, limit: PAGE_QUERY.limit,
    } } },
  }, async (request, reply) => {
    try {
      const { status, after, limit } = request.query;
      return service.messages(request.params.id, status ?? 'pending', pagePosition('after', after) ?? 0, pageLimit(limit));
    } catch (err) {
      return fail(reply, err);
    }
  });

  app.get<{ Params: { id: string }; Querystring: { after?: string; limit?: string } }>('/webhooks/:id/dead-letters', async (request, reply) => {
    try {
      return service.messages(request.params.id, 'dead', pagePosition('after', request.query.after) ?? 0, pageLimit(request.query.limit));
    } catch (err) {
      return fail(reply, err);
    }
  });

  app.post<{ Params: { id: string } }>('/webhooks/:id/dead-letters/retry', async (request, reply) => {
    try {
      return { requeued: service.retryDead(request.params.id) };
    } catch (err) {
      return fail(reply, err);
    }
  });

  app.post<{ Params: { id: string; eventId: string } }>('/webhooks/:id/deliveries/:eventId/retry', async (request, reply) => {
    try {
      return reply.code(202).send(service.retry(request.params.id, request.params.eventId));
    } catch (err) {
      return fail(reply, err);
    }
  });

  app.post<{ Params: { id: string }; Querystring: { from: string; stream?: string } }>('/webhooks/:id/replay', {
    schema: { querystring: { type: 'object', required: ['from'], additionalProperties: false, properties: { from: { type: 'string', minLength: 1 }, stream: { type: 'string' } } } },
  }, async (request, reply) => {
    const { from, stream } = request.query;
    try {
      if (/^\d+$/.test(from)) {
        const endpoint = service.get(request.params.id);
        if (!endpoint) throw new WebhookInputError(`no webhook '${request.params.id}'`, '', 404);
        const only = endpoint.streams.length === 1 && endpoint.streams[0] !== '*' ? endpoint.streams[0] : undefined;
        const target = stream ?? only;
        if (!target) throw new WebhookInputError('an offset belongs to one stream: add ?stream=<name>, or replay from a time', '/stream');
        return reply.code(202).send(service.replay(request.params.id, { offset: Number(from), stream: target }));
      }
      const timeMs = Date.parse(from);
      if (Number.isNaN(timeMs)) throw new WebhookInputError(`from=${from} is neither an offset nor an RFC 3339 time`, '/from');
      return reply.code(202).send(service.replay(request.params.id, { timeMs }));
    } catch (err) {
      return fail(reply, err);
    }
  });
}
