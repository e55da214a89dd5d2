import Fastify, { type FastifyInstance } from 'fastify';
import type { Credential } from '../config/types.js';
import { isLoopbackAddress, requireCredential } from './credentials.js';
import type { Logger } from '../logger.js';
import type { HttpAnswer, HttpIngress } from '../sources/connector.js';
import type { EventStore } from '../store/types.js';
import { registerConsumerRoutes } from './consumer-routes.js';
import { registerResourceRoutes } from './resource-routes.js';
import type { Ingestor } from '../pipeline/ingest.js';
import { ownApiDocument } from './own-api.js';

export interface ServerOptions {
  store: EventStore;
  logger: Logger;
  /** Largest accepted request body, in bytes. */
  bodyLimit: number;
  /** Reported by /readyz. */
  isReady: () => boolean;
  /** Processes a dead letter again (POST /dead-letters/{id}/retry). */
  retryDeadLetter: Ingestor['retry'];
  /** Resources with CDC, served under /resources. */
  resources: string[];
  /** Extra read-only admin endpoints (sinks, specs); name -> handler. */
  status?: Record<string, () => unknown>;
  /** Credential required on /ingest/*; null accepts any caller (reflex then listens on loopback only). */
  ingestAuth?: Credential | null;
  /** Credential required on the other routes (health aside); null lets only loopback clients in. */
  apiAuth?: Credential | null;
  /** More route groups (webhooks). */
  routes?: Array<(app: FastifyInstance) => void>;
}

type IngressHandler = Parameters<HttpIngress['post']>[1];

/** One HTTP server: ingest, the consumer API, health. Receivers add their routes through `ingress`. */
export function createServer(options: ServerOptions): { app: FastifyInstance; ingress: HttpIngress; routes: string[] } {
  const app = Fastify({ logger: false, bodyLimit: options.bodyLimit, return503OnClosing: true });
  // Every route as `METHOD /path`, so a test can hold the served API against specs/reflex-api.yaml.
  const routes: string[] = [];
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) if (method !== 'HEAD') routes.push(`${method} ${route.url}`);
  });
  const ingestRoutes: Array<{ path: string; handler: IngressHandler }> = [];

  // Ingest bodies stay raw text: the log format parses them and reports positions itself.
  app.register(async (scope) => {
    if (options.ingestAuth) scope.addHook('onRequest', requireCredential(options.ingestAuth, 'server.ingestAuth'));
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'string', bodyLimit: options.bodyLimit }, (_req, body, done) => done(null, body));
    for (const { path, handler } of ingestRoutes) {
      scope.post(path, { config: { ingest: true } }, async (request, reply) => {
        const body = typeof request.body === 'string' ? request.body : '';
        const answer: HttpAnswer = await handler(body, request.headers);
        if (answer.headers) reply.headers(answer.headers);
        return reply.code(answer.status).send(answer.body);
      });
    }
  });

  // The consumer and admin API (webhooks, dead letters) is guarded apart from ingest: a gateway's
  // ingest credential must not be enough to register a webhook or read every event.
  const apiCredential = options.apiAuth ? requireCredential(options.apiAuth, 'server.apiAuth') : null;
  app.addHook('onRequest', async (request, reply) => {
    const config = request.routeOptions.config as { ingest?: boolean; open?: boolean } | undefined;
    if (config?.ingest || config?.open) return;
    if (apiCredential) return apiCredential(request, reply);
    if (!isLoopbackAddress(request.socket.remoteAddress)) {
      return reply.code(403).send({ error: 'this route answers loopback clients only; set server.apiAuth to open it to the network' });
    }
  });

  app.get('/healthz', { config: { open: true } }, async () => ({ status: 'ok' }));
  app.get('/openapi.json', async () => ownApiDocument());
  app.get('/readyz', { config: { open: true } }, async (_req, reply) =>
    options.isReady() ? { status: 'ready' } : reply.code(503).send({ status: 'starting' }));
  for (const [name, handler] of Object.entries(options.status ?? {})) app.get(`/${name}`, async () => handler());

  registerConsumerRoutes(app, options.store);
  registerResourceRoutes(app, options.store, options.resources);
  for (const register of options.routes ?? []) register(app);

  app.post<{ Params: { id: string } }>('/dead-letters/:id/retry', async (request, reply) => {
    const dl = /^\d+$/.test(request.params.id) ? options.store.deadLetter(Number(request.params.id)) : null;
    if (!dl) return reply.code(404).send({ error: `no dead letter ${request.params.id}` });
    const retried = await options.retryDeadLetter(dl);
    if (!retried.ok) return reply.code(422).send({ error: 'processing failed again; the dead letter stays', diagnostic: retried.diagnostic });
    return { retried: dl.id, records: retried.result.records };
  });

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, request, reply) => {
    const status = err.statusCode ?? 500;
    if (status >= 500) options.logger.error('request failed', { method: request.method, url: request.url, error: err.stack ?? err.message });
    return reply.code(status).send({ error: err.message, ...(err.code ? { code: err.code } : {}) });
  });

  const ingress: HttpIngress = {
    post(path, handler) {
      ingestRoutes.push({ path, handler });
    },
  };
  return { app, ingress, routes };
}
