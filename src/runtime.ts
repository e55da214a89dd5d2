import type { FastifyInstance } from 'fastify';
import { validateConnectorBlock } from './config/connector-config.js';
import { DEFAULT_SOURCES, type ConnectorBlock, type ReflexConfig } from './config/types.js';
import { Dispatcher } from './dispatch/dispatcher.js';
import type { Logger } from './logger.js';
import { Ingestor } from './pipeline/ingest.js';
import { CdcApplier } from './cdc/applier.js';
import type { Registry } from './registry.js';
import { createServer } from './server/app.js';
import type { Source } from './sources/connector.js';
import { sourceContext } from './sources/host.js';
import { BackpressureError } from './sources/types.js';
import type { CompiledSpecSet } from './spec/types.js';
import { SqliteStore } from './store/sqlite-store.js';
import type { EventStore } from './store/types.js';
import { registerWebhookRoutes } from './webhooks/routes.js';
import { WebhookService } from './webhooks/service.js';

export interface RunningReflex {
  url: string;
  store: EventStore;
  app: FastifyInstance;
  /** Every route served, as `METHOD /path` (Fastify syntax). */
  routes: string[];
  stop(): Promise<void>;
}

/**
 * Wires one reflex process: store, ingestor, sources, dispatchers, HTTP server. Start order makes
 * readiness honest: the store opens first, sources start last, /readyz turns green after that.
 */
export async function startReflex(config: ReflexConfig, specs: CompiledSpecSet, registry: Registry, logger: Logger): Promise<RunningReflex> {
  const store = new SqliteStore({
    path: config.store.path,
    retentionMs: config.store.retentionMs,
    dedupeWindowMs: config.store.dedupeWindowMs,
    synchronous: config.store.sync,
  });
  store.ensureStreams(specs.streams);
  const webhooks = new WebhookService(store, config.webhooks, logger.child({ part: 'webhooks' }));
  const cdc = new CdcApplier(store, { reorderWindowMs: config.cdc.reorderWindowMs, logger: logger.child({ part: 'cdc' }) });
  const ingestor = new Ingestor(store, specs, cdc, { jsonDepth: config.limits.jsonDepth, rules: config.limits.rules, logger: logger.child({ part: 'ingest' }) });
  const resourceNames = [...new Set(specs.operations.filter((o) => o.resource?.cdc).map((o) => o.resource!.name))].sort();
  let ready = false;
  const dispatchers: Array<{ name: string; dispatcher: Dispatcher; maxBacklog: number }> = [];
  /** Refuses a batch while any sink is too far behind, so a dead sink cannot grow the store without bound. */
  const checkBacklog = () => {
    for (const d of dispatchers) {
      const backlog = d.dispatcher.backlog();
      if (backlog > d.maxBacklog) {
        throw new BackpressureError(`sink '${d.name}' is ${backlog} records behind (maxBacklog ${d.maxBacklog}); try again later`, 5);
      }
    }
  };
  const { app, ingress, routes } = createServer({
    store,
    logger,
    bodyLimit: config.server.bodyLimit,
    isReady: () => ready,
    retryDeadLetter: (dl) => ingestor.retry(dl),
    resources: resourceNames,
    ingestAuth: config.server.ingestAuth,
    apiAuth: config.server.apiAuth,
    timeouts: { requestMs: config.server.requestTimeoutMs, headersMs: config.server.headersTimeoutMs, idleMs: config.server.idleTimeoutMs },
    routes: [(app) => registerWebhookRoutes(app, webhooks)],
    status: {
      sinks: () => dispatchers.map((d) => ({ name: d.name, lag: d.dispatcher.lag(), backlog: d.dispatcher.backlog(), maxBacklog: d.maxBacklog })),
    },
  });

  const sources: Array<{ source: Source; stopping: AbortController }> = [];
  const names = new Set<string>();
  try {
    for (const block of [...DEFAULT_SOURCES, ...config.sources]) {
      const connector = registry.sources.get(block.type);
      const settings = validateConnectorBlock('source', block, connector, registry);
      const name = connector!.instanceName(settings);
      if (names.has(name)) throw new Error(`two sources are named '${name}'; give one of them another \`name:\``);
      names.add(name);
      const checkpointKey = `source:${name}`;
      const { context, stopping } = sourceContext({
        name,
        logger: logger.child({ source: name }),
        format: connector!.takesFormat ? registry.formats.get(settings.format as string)! : null,
        decodeOptions: { maxDepth: config.limits.jsonDepth },
        http: ingress,
        commit: (entries, checkpoint) => {
          checkBacklog();
          return ingestor.ingest(entries, { source: name, ...(checkpoint !== undefined ? { checkpoint: { source: checkpointKey, value: checkpoint } } : {}) });
        },
        getCheckpoint: () => store.getCheckpoint(checkpointKey),
      });
      sources.push({ source: connector!.create(settings, context), stopping });
    }
    for (const sinkBlock of config.sinks) {
      const connector = registry.sinks.get(sinkBlock.type);
      const settings = validateConnectorBlock('sink', sinkBlock, connector, registry);
      const name = connector!.instanceName(settings);
      // The name keys the sink's committed offsets: two sinks sharing one would skip each other's records.
      if (dispatchers.some((d) => d.name === name)) throw new Error(`two sinks are named '${name}'; give one of them another \`name:\``);
      const sinkLogger = logger.child({ sink: name });
      let sink;
      try {
        sink = connector!.create(settings, { name, logger: sinkLogger, webhooks });
      } catch (err) {
        throw new Error(`${where(sinkBlock)}sink '${name}': ${(err as Error).message}${(err as { field?: string }).field ? ` (at ${(err as { field?: string }).field})` : ''}`);
      }
      if (!sink) continue;
      dispatchers.push({ name, maxBacklog: connector!.maxBacklog(settings), dispatcher: new Dispatcher(store, sink, sinkLogger, { name, streams: connector!.streams(settings) }) });
    }
    webhooks.retireUndeclared();
    await app.listen({ host: listenHost(config, logger), port: config.server.port });
  } catch (err) {
    await app.close().catch(() => undefined);
    store.close();
    throw err;
  }

  for (const d of dispatchers) d.dispatcher.start();
  webhooks.start();
  // Changes left pending by a crash (or a stop inside the window) apply now, or when their window ends.
  cdc.applyDue();
  cdc.start();
  for (const s of sources) await s.source.start();
  const pruneTimer = setInterval(() => {
    try {
      const sinkOwners = new Set(dispatchers.map((d) => d.dispatcher.owner));
      const pruned = store.prune(Date.now(), (stream) =>
        Math.min(webhooks.fannedOutOffset(stream), store.subscriptions.floor(stream, sinkOwners) ?? Number.POSITIVE_INFINITY));
      if (pruned.records > 0) logger.info('pruned records past retention', pruned);
      if (config.store.retentionMs > 0) webhooks.prune(Date.now() - config.store.retentionMs);
    } catch (err) {
      logger.error('pruning failed', { error: (err as Error).message });
    }
  }, 60_000);
  pruneTimer.unref();
  ready = true;

  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.server.port;
  const host = typeof address === 'object' && address ? address.address : config.server.host;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  let stopping: Promise<void> | null = null;
  return {
    url,
    store,
    app,
    routes,
    stop() {
      stopping ??= (async () => {
        ready = false;
        clearInterval(pruneTimer);
        ingestor.stop();
        for (const s of sources) s.stopping.abort();
        for (const s of sources) await s.source.stop().catch((err: Error) => logger.error('source stop failed', { error: err.message }));
        // A request in flight when the stop began (a batch the ingestor now refuses with 503) leaves
        // its keep-alive connection idle only afterwards; close such connections as they go idle.
        const sweep = setInterval(() => app.server.closeIdleConnections(), 50);
        await app.close().finally(() => clearInterval(sweep));
        cdc.stop();
        for (const d of dispatchers) await d.dispatcher.stop().catch((err: Error) => logger.error('sink stop failed', { error: err.message }));
        await webhooks.stop().catch((err: Error) => logger.error('webhooks stop failed', { error: (err as Error).message }));
        store.close();
      })();
      return stopping;
    },
  };
}

function where(block: ConnectorBlock): string {
  const at = block.__location;
  return at ? `${at.file}:${at.line ?? 0}:${at.column ?? 0}: ` : '';
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** Without an ingest credential anyone who reaches the port could write events: stay on loopback. */
function listenHost(config: ReflexConfig, logger: Logger): string {
  const host = config.server.host;
  if (config.server.ingestAuth || LOOPBACK.has(host) || host.startsWith('127.')) return host;
  logger.warn('no ingest credential is configured (server.ingestAuth), so reflex listens on loopback only', { requestedHost: host, listening: '127.0.0.1' });
  return '127.0.0.1';
}

export type { ConnectorBlock };
