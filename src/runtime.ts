import type { FastifyInstance } from 'fastify';
import { validateConnectorBlock } from './config/connector-config.js';
import { DEFAULT_SOURCES, type ConnectorBlock, type ReflexConfig } from './config/types.js';
import { Dispatcher } from './dispatch/dispatcher.js';
import type { Logger } from './logger.js';
import { Ingestor } from './pipeline/ingest.js';
import { IngestWorkers, workerFormats } from './pipeline/worker-pool.js';
import { SpecReloader, type ReloadResult } from './pipeline/spec-reload.js';
import { watchSpecFiles } from './pipeline/spec-watch.js';
import { CdcApplier } from './cdc/applier.js';
import type { Registry } from './registry.js';
import { createServer } from './server/app.js';
import type { ServiceSink } from './sinks/connector.js';
import { createSinkServices } from './sinks/services.js';
import type { Source } from './sources/connector.js';
import { sourceContext } from './sources/host.js';
import { SourceMonitor } from './sources/monitor.js';
import type { CompiledSpecSet } from './spec/types.js';
import { SqliteStore } from './store/sqlite-store.js';
import { ClusterIngestor } from './cluster/ingest.js';
import type { ClusterEngine } from './cluster/types.js';
import { planClusterSinks, where, type ClusterSinks } from './cluster/sinks.js';
import { hostname } from 'node:os';
import { BackpressureError } from './sources/types.js';
import type { EventStore } from './store/types.js';
import { Followers } from './subscriptions/followers.js';
import { asyncApiOf } from './contracts/sinks.js';
import { ReflexMetrics } from './metrics/reflex-metrics.js';
import { RecentExchanges } from './pipeline/recent-exchanges.js';
import { registerExchangeRoutes } from './server/exchange-routes.js';
import { registerPlaygroundRoutes } from './server/playground-routes.js';
import { registerConsoleAssets } from './server/console-assets.js';

export interface RunningReflex {
  url: string;
  store: EventStore;
  app: FastifyInstance;
  /** Every route served, as `METHOD /path` (Fastify syntax). */
  routes: string[];
  /** Compiles the spec files again and, when they are valid, serves them (POST /specs/reload, SIGHUP). */
  reloadSpecs(trigger: string): Promise<ReloadResult>;
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
  // One registry per process, handed to each part that counts (never prom-client's global one).
  const metrics = new ReflexMetrics();
  metrics.watchStore(config.store.path);
  // Every follower of the log (dispatchers, webhook endpoints) holds back retention and, past its maxBacklog, ingest.
  const followers = new Followers(store.subscriptions);
  // Cluster mode writes its outputs to Kafka in its own transactions: no service follows the local log.
  const serviceOf = config.cluster
    ? new Map<string, never>()
    : createSinkServices(registry, { logger, config, log: store, subscriptions: store.subscriptions, followers, database: store.db, durable: () => store.durable(), metrics: metrics.webhooks });
  const services = [...serviceOf.values()];
  const cdc = new CdcApplier(store, { reorderWindowMs: config.cdc.reorderWindowMs, maxPending: config.cdc.maxPending, logger: logger.child({ part: 'cdc' }), metrics: metrics.cdc });
  let engine: ClusterEngine | null = null;
  const ingestor = config.cluster
    ? new ClusterIngestor({ publish: (messages) => (engine ? engine.publish(messages) : Promise.reject(new BackpressureError('reflex is joining the cluster; send it again', 1))) }, store, specs, { jsonDepth: config.limits.jsonDepth, rules: config.limits.rules })
    : new Ingestor(store, specs, cdc, { jsonDepth: config.limits.jsonDepth, rules: config.limits.rules, logger: logger.child({ part: 'ingest' }), metrics: metrics.ingest });
  // Decode and rules on worker threads; they load the specs from their files, so only specs that have files.
  // Cluster mode routes on the main thread (the rules run where the partition is owned).
  const workerSetup = (set: CompiledSpecSet) => ({
    specFiles: set.files, specRefs: config.specRefs, formats: workerFormats(registry.formats), limits: { jsonDepth: config.limits.jsonDepth, rules: config.limits.rules },
  });
  let workers = !config.cluster && config.ingest.workers > 0 && specs.files.length > 0
    ? await IngestWorkers.start(config.ingest.workers, workerSetup(specs), logger.child({ part: 'ingest' })).catch((err: unknown) => (store.close(), Promise.reject(err)))
    : null;
  // Replaced in place by a reload: the resource routes read it at each request.
  const resourceNames = cdcResources(specs);
  let active = specs;
  const reloader = new SpecReloader({
    files: config.specs,
    refs: config.specRefs,
    current: () => active,
    unavailable: reloaderUnavailable(config, specs),
    logger,
    async apply(next) {
      // New workers first: if they cannot load the files, nothing changed.
      const nextWorkers = workers ? await IngestWorkers.start(config.ingest.workers, workerSetup(next), logger.child({ part: 'ingest' })) : null;
      store.ensureStreams(next.streams);
      await (ingestor as Ingestor).useSpecs(next);
      const retired = workers;
      workers = nextWorkers;
      active = next;
      resourceNames.splice(0, resourceNames.length, ...cdcResources(next));
      void retired?.retire().catch((err: Error) => logger.error('the replaced ingest workers did not stop cleanly', { error: err.message }));
    },
  });
  // Cluster mode applies changes where partitions are owned (Kafka), not here. `resourceNames` follows reloads.
  if (!config.cluster) metrics.watchCdc(resourceNames, () => store.cdc.pendingPerResource());
  let ready = false;
  const asyncApi = asyncApiOf(config, registry);
  const dispatchers: Array<{ name: string; dispatcher: Dispatcher; maxBacklog: number }> = [];
  const serviceSinks: ServiceSink[] = [];
  const monitor = new SourceMonitor(logger);
  // The last ingested batches, for the console (the store keeps no exchanges).
  const recent = new RecentExchanges();
  const decodeOptions = { maxDepth: config.limits.jsonDepth };
  const { app, ingress, routes } = createServer({
    store,
    logger,
    bodyLimit: config.server.bodyLimit,
    isReady: () => ready,
    sourceProblems: () => monitor.problems(),
    retryDeadLetter: (dl) => ingestor.retry(dl),
    reloadSpecs: (trigger) => reloader.reload(trigger),
    publish: config.cluster ? null : { store, publishAuth: config.server.publishAuth, ruleStreams: () => new Set(active.streams.map((s) => s.name)), metrics: metrics.ingest },
    resources: resourceNames,
    ingestAuth: config.server.ingestAuth,
    apiAuth: config.server.apiAuth,
    metricsAuth: config.server.metricsAuth,
    metrics,
    timeouts: { requestMs: config.server.requestTimeoutMs, headersMs: config.server.headersTimeoutMs, idleMs: config.server.idleTimeoutMs },
    cluster: config.cluster ? { engine: () => engine, topics: clusterTopics(config) } : null,
    routes: [
      ...services.flatMap((s) => (s.routes ? [(app: FastifyInstance) => s.routes!(app)] : [])),
      (app) => registerExchangeRoutes(app, recent, () => active),
      (app) => registerPlaygroundRoutes(app, { specs: () => active, formats: registry.formats, limits: config.limits.rules, decode: decodeOptions }),
      (app) => registerConsoleAssets(app),
    ],
    status: {
      sinks: () => dispatchers.map((d) => ({ name: d.name, lag: d.dispatcher.lag(), backlog: d.dispatcher.backlog(), maxBacklog: d.maxBacklog, ...d.dispatcher.health() })),
      sources: () => monitor.statuses(),
      schemas: () => active.contracts,
      'asyncapi.json': () => asyncApi(active),
    },
  });

  const sources: Array<{ name: string; source: Source; stopping: AbortController }> = [];
  let clusterSinks: ClusterSinks | null = null;
  const names = new Set<string>();
  try {
    for (const block of [...DEFAULT_SOURCES, ...config.sources]) {
      const connector = registry.sources.get(block.type);
      const settings = validateConnectorBlock('source', block, connector, registry);
      const name = connector!.instanceName(settings);
      if (names.has(name)) throw new Error(`two sources are named '${name}'; give one of them another \`name:\``);
      names.add(name);
      const checkpointKey = `source:${name}`;
      const tracked = monitor.track(block.type, name);
      const counted = metrics.source(name, typeof settings.format === 'string' ? settings.format : block.type);
      const format = connector!.takesFormat ? registry.formats.get(settings.format as string)! : null;
      const { context, stopping } = sourceContext({
        name,
        logger: logger.child({ source: name }),
        format,
        decodeOptions,
        http: ingress,
        commit: (entries, checkpoint) => {
          followers.checkBacklog();
          if (Array.isArray(entries)) recent.addEntries(name, entries);
          return ingestor
            .ingest(entries, { source: name, ...(checkpoint !== undefined ? { checkpoint: { source: checkpointKey, value: checkpoint } } : {}) })
            .then(async (result) => {
              const received = Array.isArray(entries) ? entries.length : (await entries).received;
              tracked.ingested(received);
              counted.committed(received, result);
              return result;
            });
        },
        // `workers` at each call: a spec reload replaces the pool.
        prepare: workers?.has(settings.format as string)
          ? (payload) => (recent.addPayload(name, format!, payload, decodeOptions), workers!.process(settings.format as string, payload, name))
          : null,
        getCheckpoint: () => store.getCheckpoint(checkpointKey),
      });
      let source: Source;
      try {
        source = connector!.create(settings, context);
      } catch (err) {
        // A connector's own refusal (beyond its schema) names the config line too, as for sinks.
        throw new Error(`${where(block)}source '${name}': ${(err as Error).message}`);
      }
      tracked.attach(source);
      sources.push({ name, source, stopping });
    }
    clusterSinks = config.cluster ? planClusterSinks(config.cluster, config, registry, specs.streams, logger) : null;
    for (const sinkBlock of clusterSinks ? [] : config.sinks) {
      const connector = registry.sinks.get(sinkBlock.type);
      const settings = validateConnectorBlock('sink', sinkBlock, connector, registry);
      const name = connector!.instanceName(settings);
      // The name keys the sink's committed offsets: two sinks sharing one would skip each other's records.
      if (dispatchers.some((d) => d.name === name)) throw new Error(`two sinks are named '${name}'; give one of them another \`name:\``);
      const sinkLogger = logger.child({ sink: name });
      let sink;
      try {
        sink = connector!.create(settings, { name, logger: sinkLogger, service: serviceOf.get(connector!.type), streams: specs.streams });
        const opened = sink;
        if ('open' in opened && opened.open) await opened.open().catch(async (err: unknown) => (await opened.close().catch(() => undefined), Promise.reject(err)));
      } catch (err) {
        throw new Error(`${where(sinkBlock)}sink '${name}': ${(err as Error).message}${(err as { field?: string }).field ? ` (at ${(err as { field?: string }).field})` : ''}`);
      }
      if ('deliveredBy' in sink) {
        serviceSinks.push(sink);
        continue;
      }
      const sinkMetrics = metrics.sink(name, { backlog: () => dispatcher.backlog(), lagSeconds: (now) => dispatcher.lagSeconds(now) });
      const dispatcher: Dispatcher = new Dispatcher(store, sink, sinkLogger, {
        name, streams: connector!.streams(settings), metrics: sinkMetrics, ...(connector!.batchSize ? { batchSize: connector!.batchSize(settings) } : {}),
      });
      const maxBacklog = connector!.maxBacklog(settings);
      dispatchers.push({ name, maxBacklog, dispatcher });
      followers.register({ owner: dispatcher.owner, label: `sink '${name}'`, streams: () => dispatcher.streams(), maxBacklog, backlog: () => dispatcher.backlog() });
    }
    for (const s of services) s.configured?.();
    await app.listen({ host: listenHost(config, logger), port: config.server.port });
    if (config.cluster && clusterSinks) {
      engine = await registry.clusters.get('kafka')!.start(clusterSinks.connection, {
        logger: logger.child({ part: 'cluster' }),
        specs,
        settings: config.cluster,
        outputs: clusterSinks.outputs,
        instance: config.cluster.advertisedUrl ?? advertisedUrl(app, config),
        rules: config.limits.rules,
        dedupeWindowMs: config.store.dedupeWindowMs,
        reorderWindowMs: config.cdc.reorderWindowMs,
        keepLocally: (entries) => void store.commit({ entries }),
      });
      for (const { runner } of clusterSinks.runners) await runner.start();
    }
  } catch (err) {
    // Sinks opened before the one that failed hold connections (a database, a broker): close them.
    for (const d of dispatchers) await d.dispatcher.stop().catch(() => undefined);
    for (const s of serviceSinks) await s.close().catch(() => undefined);
    await app.close().catch(() => undefined);
    await workers?.stop();
    for (const { runner } of clusterSinks?.runners ?? []) await runner.stop().catch(() => undefined);
    await engine?.stop().catch(() => undefined);
    store.close();
    throw err;
  }

  for (const d of dispatchers) d.dispatcher.start();
  for (const s of services) s.start();
  // Changes left pending by a crash (or a stop inside the window) apply now, or when their window ends.
  if (!config.cluster) {
    cdc.applyDue();
    cdc.start();
  }
  monitor.start();
  for (const s of sources) {
    monitor.setActive(s.name, true);
    await s.source.start();
  }
  const pruneTimer = setInterval(() => {
    try {
      const pruned = store.prune(Date.now(), (stream) => followers.floor(stream));
      if (pruned.records > 0) logger.info('pruned records past retention', pruned);
      if (config.store.retentionMs > 0) for (const s of services) s.prune?.(Date.now() - config.store.retentionMs);
    } catch (err) {
      logger.error('pruning failed', { error: (err as Error).message });
    }
  }, 60_000);
  pruneTimer.unref();
  const unavailable = reloaderUnavailable(config, specs);
  if (config.reload.watch && unavailable) logger.warn('reload.watch is ignored', { reason: unavailable });
  const watcher = config.reload.watch && !unavailable ? watchSpecFiles(specs.files, () => void reloader.reload('watch'), logger) : null;
  ready = true;

  const url = listeningUrl(app, config);
  let stopping: Promise<void> | null = null;
  return {
    url,
    store,
    app,
    routes,
    reloadSpecs: (trigger) => reloader.reload(trigger),
    stop() {
      stopping ??= (async () => {
        ready = false;
        clearInterval(pruneTimer);
        watcher?.close();
        ingestor.stop();
        // Batches on ingest workers are refused (503, nothing stored) now, not when their rules end:
        // the requests waiting for them must be answered before the server can close.
        await workers?.stop();
        for (const s of sources) s.stopping.abort();
        for (const s of sources) {
          await s.source.stop().catch((err: Error) => logger.error('source stop failed', { error: err.message }));
          monitor.setActive(s.name, false);
        }
        monitor.stop();
        // A request in flight when the stop began (a batch the ingestor now refuses with 503) leaves
        // its keep-alive connection idle only afterwards; close such connections as they go idle.
        const sweep = setInterval(() => app.server.closeIdleConnections(), 50);
        await app.close().finally(() => clearInterval(sweep));
        cdc.stop();
        for (const d of dispatchers) await d.dispatcher.stop().catch((err: Error) => logger.error('sink stop failed', { error: err.message }));
        for (const s of serviceSinks) await s.close().catch((err: Error) => logger.error('sink stop failed', { error: err.message }));
        for (const s of services) await s.stop().catch((err: Error) => logger.error('sink service stop failed', { error: err.message }));
        for (const { name, runner } of clusterSinks?.runners ?? []) await runner.stop().catch((err: Error) => logger.error('sink stop failed', { sink: name, error: err.message }));
        await engine?.stop().catch((err: Error) => logger.error('cluster stop failed', { error: err.message }));
        store.close();
      })();
      return stopping;
    },
  };
}

/** Why the specs cannot be reloaded in this process (null: they can). */
function reloaderUnavailable(config: ReflexConfig, specs: CompiledSpecSet): string | null {
  if (config.cluster) return 'specs cannot be reloaded in cluster mode (every instance must route and process with the same rules); restart the instances one at a time';
  return specs.files.length === 0 ? 'these specs were not loaded from files' : null;
}

/** The resources that keep change records, served under /resources. */
function cdcResources(specs: CompiledSpecSet): string[] {
  return [...new Set(specs.operations.filter((o) => o.resource?.cdc).map((o) => o.resource!.name))].sort();
}

function listeningUrl(app: FastifyInstance, config: ReflexConfig): string {
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.server.port;
  const host = typeof address === 'object' && address ? address.address : config.server.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** What other instances call this one by: the listening URL, with this host's name for a wildcard address. */
function advertisedUrl(app: FastifyInstance, config: ReflexConfig): string {
  const url = new URL(listeningUrl(app, config));
  if (url.hostname === '0.0.0.0' || url.hostname === '[::]') url.hostname = hostname();
  return url.origin;
}

/** Where cluster mode's records are, for the routes that answer 501 (the kafka sinks' topic templates). */
function clusterTopics(config: ReflexConfig): string {
  const templates = config.sinks.filter((s) => s.type === 'kafka').map((s) => String(s.topic ?? '{stream}'));
  return templates.length > 0 ? templates.join(', ') : 'no kafka sink is configured';
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
