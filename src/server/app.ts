import Fastify, { type FastifyInstance } from 'fastify';
import type { Credential } from '../config/types.js';
import { ReflexError } from '../errors.js';
import { isLoopbackAddress, requireCredential } from './credentials.js';
import { requireLoopbackHost } from './loopback-host.js';
import { requireJsonMediaType } from './media-type.js';
import type { Logger } from '../logger.js';
import type { HttpAnswer, HttpIngress } from '../sources/connector.js';
import type { SourceProblem } from '../sources/monitor.js';
import type { EventStore } from '../store/types.js';
import { registerConsumerRoutes } from './consumer-routes.js';
import { registerResourceRoutes } from './resource-routes.js';
import { registerClusterRoutes } from './cluster-routes.js';
import type { ClusterEngine } from '../cluster/types.js';
import type { Ingestor } from '../pipeline/ingest.js';
import { ownApiDocument } from './own-api.js';
import type { ReloadResult } from '../pipeline/spec-reload.js';
import { registerPublishRoutes, type PublishOptions } from './publish-routes.js';
import { registerMetricsRoute, type MetricsExposition } from './metrics-route.js';

export interface ServerOptions {
  store: EventStore;
  logger: Logger;
  /** Largest accepted request body, in bytes. */
  bodyLimit: number;
  /** Reported by /readyz. */
  isReady: () => boolean;
  /** Degraded sources: /readyz answers 503 with them while there is one. */
  sourceProblems?: () => SourceProblem[];
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
  /** Credential required on /metrics instead of apiAuth (a scraper's own); null: apiAuth's rule applies. */
  metricsAuth?: Credential | null;
  /** Served at GET /metrics; absent: no such route. */
  metrics?: MetricsExposition | null;
  /** Cluster mode: the engine (null until it joined) and where the records are, for the routes that change. */
  cluster?: { engine: () => ClusterEngine | null; topics: string } | null;
  /** More route groups (webhooks). */
  routes?: Array<(app: FastifyInstance) => void>;
  /** Applications publishing their own events (single-node mode). */
  publish?: Omit<PublishOptions, 'bodyLimit'> | null;
  /** Reloads the specs (POST /specs/reload). */
  reloadSpecs?: (trigger: string) => Promise<ReloadResult>;
  /** Milliseconds (0: none) to receive a whole request, its headers, and between two socket reads or writes. */
  timeouts?: ServerTimeouts;
}

export interface ServerTimeouts {
  requestMs: number;
  headersMs: number;
  idleMs: number;
}

export const DEFAULT_TIMEOUTS: ServerTimeouts = { requestMs: 60_000, headersMs: 20_000, idleMs: 120_000 };

type IngressHandler = Parameters<HttpIngress['post']>[1];
type BytesHandler = Parameters<NonNullable<HttpIngress['postBytes']>>[1];
type IncomingHttpHeaders = Parameters<IngressHandler>[1];

/** One HTTP server: ingest, the consumer API, health. Receivers add their routes through `ingress`. */
export function createServer(options: ServerOptions): { app: FastifyInstance; ingress: HttpIngress; routes: string[] } {
  const timeouts = options.timeouts ?? DEFAULT_TIMEOUTS;
  const app = Fastify({
    logger: false,
    bodyLimit: options.bodyLimit,
    return503OnClosing: true,
    // Node answers 408 and closes the socket when a request (headers and body) takes longer than
    // requestTimeout; it looks every connectionsCheckingInterval (30 s by default, too coarse).
    requestTimeout: timeouts.requestMs,
    connectionTimeout: timeouts.idleMs,
    http: {
      requestTimeout: timeouts.requestMs,
      headersTimeout: timeouts.headersMs,
      connectionsCheckingInterval: checkingInterval(timeouts),
    },
  });
  // Every route as `METHOD /path`, so a test can hold the served API against specs/reflex-api.yaml.
  const routes: string[] = [];
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) if (method !== 'HEAD') routes.push(`${method} ${route.url}`);
  });
  const ingestRoutes: Array<{ path: string; handler: IngressHandler }> = [];
  const byteRoutes: Array<{ path: string; handler: BytesHandler }> = [];

  // Ingest bodies stay raw (text, or bytes the ingest worker decodes): the log format parses them and reports positions itself.
  const ingestScope = <B>(parseAs: 'string' | 'buffer', routes: Array<{ path: string; handler: (body: B, headers: IncomingHttpHeaders) => Promise<HttpAnswer> }>, empty: B) => {
    app.register(async (scope) => {
      if (options.ingestAuth) scope.addHook('onRequest', requireCredential(options.ingestAuth, 'server.ingestAuth'));
      else scope.addHook('onRequest', requireLoopbackHost('server.ingestAuth'));
      scope.addHook('onRequest', requireJsonMediaType);
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('*', { parseAs, bodyLimit: options.bodyLimit }, (_req, body, done) => done(null, body));
      for (const { path, handler } of routes) {
        scope.post(path, { config: { ingest: true } }, async (request, reply) => {
          const body = request.body === undefined || request.body === null ? empty : (request.body as B);
          const answer: HttpAnswer = await handler(body, request.headers);
          if (answer.headers) reply.headers(answer.headers);
          return reply.code(answer.status).send(answer.body);
        });
      }
    });
  };
  ingestScope<string>('string', ingestRoutes, '');
  ingestScope<Buffer>('buffer', byteRoutes, Buffer.alloc(0));

  // The consumer and admin API (webhooks, dead letters) is guarded apart from ingest: a gateway's
  // ingest credential must not be enough to register a webhook or read every event.
  const apiCredential = options.apiAuth ? requireCredential(options.apiAuth, 'server.apiAuth') : null;
  const loopbackHost = requireLoopbackHost('server.apiAuth');
  const metricsCredential = options.metricsAuth ? requireCredential(options.metricsAuth, 'server.metricsAuth') : null;
  app.addHook('onRequest', async (request, reply) => {
    // Ingest and publishing have credentials of their own (their scopes check them).
    const config = request.routeOptions.config as { ingest?: boolean; open?: boolean; publish?: boolean; metrics?: boolean } | undefined;
    if (config?.ingest || config?.open || config?.publish) return;
    if (config?.metrics && metricsCredential) return metricsCredential(request, reply);
    if (apiCredential) return apiCredential(request, reply);
    if (!isLoopbackAddress(request.socket.remoteAddress)) {
      return reply.code(403).send({ error: 'this route answers loopback clients only; set server.apiAuth to open it to the network' });
    }
    return loopbackHost(request, reply);
  });

  app.get('/healthz', { config: { open: true } }, async () => ({ status: 'ok' }));
  app.get('/openapi.json', async () => ownApiDocument());
  app.get('/readyz', { config: { open: true } }, async (_req, reply) => {
    if (!options.isReady()) return reply.code(503).send({ status: 'starting' });
    const problems = options.sourceProblems?.() ?? [];
    return problems.length > 0 ? reply.code(503).send({ status: 'degraded', sources: problems }) : { status: 'ready' };
  });
  for (const [name, handler] of Object.entries(options.status ?? {})) app.get(`/${name}`, async () => handler());
  if (options.metrics) registerMetricsRoute(app, options.metrics);

  // An SSE tail is quiet between events: its heartbeat must come before the idle timeout closes it.
  const heartbeatMs = timeouts.idleMs > 0 ? Math.min(15_000, Math.floor(timeouts.idleMs / 2)) : 15_000;
  if (options.cluster) {
    registerClusterRoutes(app, options.cluster.engine, options.resources, options.cluster.topics, { heartbeatMs, logger: options.logger });
  } else {
    registerConsumerRoutes(app, options.store, { heartbeatMs });
    registerResourceRoutes(app, options.store, options.resources);
    if (options.publish) registerPublishRoutes(app, { ...options.publish, bodyLimit: options.bodyLimit });
  }
  for (const register of options.routes ?? []) register(app);

  app.post<{ Params: { id: string } }>('/dead-letters/:id/retry', async (request, reply) => {
    const dl = /^\d+$/.test(request.params.id) ? options.store.deadLetter(Number(request.params.id)) : null;
    if (!dl) return reply.code(404).send({ error: `no dead letter ${request.params.id}` });
    const retried = await options.retryDeadLetter(dl);
    if (!retried.ok) return reply.code(422).send({ error: 'processing failed again; the dead letter stays', diagnostic: retried.diagnostic });
    return { retried: dl.id, records: retried.result.records };
  });

  const reloadSpecs = options.reloadSpecs;
  if (reloadSpecs) {
    app.post('/specs/reload', async (_request, reply) => {
      const result = await reloadSpecs('POST /specs/reload');
      if (result.ok) return { reloaded: true, operations: result.operations, streams: result.streams, added: result.added, removed: result.removed, warnings: result.warnings, breaking: result.breaking, ms: result.ms };
      const status = result.reason === 'invalid' ? 422 : result.reason === 'unavailable' ? 409 : 500;
      return reply.code(status).send({ error: result.message, diagnostics: result.diagnostics });
    });
  }

  // One place turns a thrown error into its answer: a ReflexError knows its status and body;
  // Fastify's own errors (FST_ERR_…, body too large ...) carry `statusCode`.
  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, request, reply) => {
    const status = err instanceof ReflexError ? err.status : err.statusCode ?? 500;
    if (status >= 500) options.logger.error('request failed', { method: request.method, url: request.url, error: err.stack ?? err.message });
    const body = err instanceof ReflexError ? err.answerBody() : { error: err.message, ...(err.code ? { code: err.code } : {}) };
    return reply.code(status).send(body);
  });

  const ingress: HttpIngress = {
    post(path, handler) {
      ingestRoutes.push({ path, handler });
    },
    postBytes(path, handler) {
      byteRoutes.push({ path, handler });
    },
  };
  return { app, ingress, routes };
}

/** Often enough that a timeout fires within a quarter of its length; never more than Node's 30 s. */
function checkingInterval(t: ServerTimeouts): number {
  const shortest = Math.min(...[t.requestMs, t.headersMs].filter((ms) => ms > 0));
  return Number.isFinite(shortest) ? Math.min(30_000, Math.max(100, Math.floor(shortest / 4))) : 30_000;
}
