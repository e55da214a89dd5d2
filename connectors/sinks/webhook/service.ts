import type Database from 'better-sqlite3';
import type { FastifyInstance } from 'fastify';
import type { FollowerRegistry, Logger, LogReader, SinkService, SubscriptionStore, WebhookMetrics, WebhookSettings } from '../../../src/sdk/index.js';
import { systemClock, type Clock } from './clock.js';
import { WebhookEndpoints } from './endpoints.js';
import { WebhookInputError } from './errors.js';
import { FanOut } from './fan-out.js';
import { DeliveryThread } from './delivery-thread-client.js';
import type { Poster } from './http-client.js';
import { EndpointFollowers } from './followers.js';
import { registerWebhookRoutes } from './routes.js';
import { DeliveryScheduler } from './scheduler.js';
import { WebhookStore } from './store.js';
import type { DeliveryAttempt, EndpointInput, WebhookEndpoint, WebhookMessage } from './types.js';

/** What the service needs of the host: the log, the endpoints' subscriptions, the file for its tables. */
export interface WebhookHost {
  log: LogReader;
  subscriptions: SubscriptionStore;
  database: Database.Database;
  /** Where each endpoint registers as a follower of the log (backpressure, retention floor). */
  followers?: FollowerRegistry;
  /** Resolves once what the log held when called is on disk (SinkServiceContext.durable). */
  durable?(): Promise<void>;
  /** Counts attempts and dead letters per endpoint (SinkServiceContext.metrics). */
  metrics?: WebhookMetrics;
}

/** Time, chance and the network, replaced by fakes in unit tests. */
export interface WebhookServiceDeps {
  clock?: Clock;
  random?: () => number;
  connect?: (settings: WebhookSettings) => Poster;
}

const clientOptions = (settings: WebhookSettings) => ({
  allowPrivateAddresses: settings.allowPrivateAddresses,
  timeoutMs: settings.timeoutMs,
  maxResponseBytes: settings.maxResponseBytes,
  connections: settings.concurrency,
});

/**
 * Webhook delivery, as the routes and the runtime see it: endpoints (`endpoints.ts`), fan-out of
 * the log into each endpoint's outbox (`fan-out.ts`), delivery with retries (`scheduler.ts`,
 * `retry-policy.ts`), and the delivery log, retry and replay here.
 */
export class WebhookService implements SinkService {
  private readonly log: LogReader;
  private readonly store: WebhookStore;
  private readonly endpoints: WebhookEndpoints;
  private readonly fanOut: FanOut;
  private readonly scheduler: DeliveryScheduler;
  private readonly followers: EndpointFollowers;
  private readonly clock: Clock;
  /** Where deliveries are signed and sent, unless the deps bring their own client. */
  private readonly thread: DeliveryThread | null;
  private unsubscribe: (() => void) | null = null;

  constructor(host: WebhookHost, settings: WebhookSettings, logger: Logger, deps: WebhookServiceDeps = {}) {
    const log = (this.log = host.log);
    this.clock = deps.clock ?? systemClock;
    this.thread = deps.connect ? null : new DeliveryThread(logger);
    const connect = deps.connect ?? ((s: WebhookSettings) => this.thread!.connect(clientOptions(s)));
    this.store = new WebhookStore(host.database, host.subscriptions);
    this.fanOut = new FanOut(log, this.store, this.clock, logger);
    this.followers = new EndpointFollowers(log, this.store, this.fanOut, host.followers);
    this.scheduler = new DeliveryScheduler(this.store, this.fanOut, settings, {
      clock: this.clock,
      random: deps.random ?? Math.random,
      connect: () => connect(settings),
      disable: (id, reason) => this.endpoints.setEnabled(id, false, reason),
      logger,
      ...(host.durable ? { durable: () => host.durable!() } : {}),
      ...(host.metrics ? { metrics: host.metrics } : {}),
    });
    this.endpoints = new WebhookEndpoints(this.store, log, settings, this.clock, logger, {
      changed: (endpoint) => {
        this.scheduler.load(endpoint);
        this.followers.follow(endpoint);
      },
      removed: (id) => {
        this.followers.unfollow(id);
        void this.scheduler.unload(id);
      },
    });
    for (const endpoint of this.endpoints.all()) {
      this.scheduler.load(endpoint);
      this.followers.follow(endpoint);
    }
  }

  // ---- endpoints -------------------------------------------------------------------------------

  list(): WebhookEndpoint[] {
    return this.endpoints.list();
  }

  get(id: string): (WebhookEndpoint & { counts: Record<string, number> }) | null {
    return this.endpoints.get(id);
  }

  /** Registers an endpoint; the answer is the only place its secret is shown. */
  create(input: EndpointInput): WebhookEndpoint & { secret: string } {
    return this.endpoints.create(input);
  }

  /** A `type: webhook` block of reflex.yaml; past `maxBacklog` records not fanned out, ingest is refused. */
  declare(id: string, input: EndpointInput, maxBacklog = Number.POSITIVE_INFINITY): void {
    this.followers.limit(id, maxBacklog);
    this.endpoints.declare(id, input);
  }

  /** Once reflex.yaml's endpoints are declared: the ones it no longer has are disabled. */
  configured(): void {
    this.endpoints.retireUndeclared();
  }

  routes(app: FastifyInstance): void {
    registerWebhookRoutes(app, this);
  }

  update(id: string, patch: Partial<EndpointInput>): WebhookEndpoint {
    return this.endpoints.update(id, patch);
  }

  delete(id: string): void {
    this.endpoints.delete(id);
  }

  rotateSecret(id: string, secret?: string): { secret: string; previousValidUntil: string } {
    return this.endpoints.rotateSecret(id, secret);
  }

  // ---- deliveries ------------------------------------------------------------------------------

  deliveries(id: string, options: { before?: number; limit: number; eventId?: string }): DeliveryAttempt[] {
    this.endpoints.mustGet(id);
    return this.store.attempts(id, options);
  }

  messages(id: string, status: WebhookMessage['status'], afterId: number, limit: number): WebhookMessage[] {
    this.endpoints.mustGet(id);
    return this.store.messages(id, status, afterId, limit);
  }

  /** Sends one event again (delivered or dead), now. */
  retry(id: string, eventId: string): WebhookMessage {
    this.endpoints.mustGet(id);
    const message = this.store.message(id, eventId);
    if (!message) throw new WebhookInputError(`event '${eventId}' was never queued for webhook '${id}'`, '/eventId', 404);
    // Dead or delivered: queued again from its first attempt. Pending and waiting for a retry: due now.
    if (message.status !== 'pending') this.store.retryMessage(id, eventId, this.clock.now());
    else this.store.sendNow(id, eventId, this.clock.now());
    this.scheduler.schedulePump();
    const { payload: _payload, ...view } = this.store.message(id, eventId)!;
    return view;
  }

  /** Every dead message of the endpoint becomes pending again. */
  retryDead(id: string): number {
    this.endpoints.mustGet(id);
    let n = 0;
    for (let after = 0; ; ) {
      const page = this.store.messages(id, 'dead', after, 500);
      if (page.length === 0) break;
      for (const m of page) if (this.store.retryMessage(id, m.eventId, this.clock.now())) n++;
      after = page[page.length - 1]!.id;
    }
    this.scheduler.schedulePump();
    return n;
  }

  /**
   * Queues the endpoint's events again from an offset of one stream, or from a time on all its
   * streams, up to what it has already been given (newer records come by the normal way).
   */
  replay(id: string, from: { offset: number; stream: string } | { timeMs: number }): { queued: number } {
    const e = this.endpoints.mustGet(id);
    if ('offset' in from) {
      const streams = this.fanOut.streamsOf(e);
      if (!streams.includes(from.stream)) throw new WebhookInputError(`webhook '${id}' does not take stream '${from.stream}' (it takes ${streams.join(', ') || 'none yet'})`, '/stream');
    }
    const queued = this.fanOut.replay(this.scheduler.target(id)!, from);
    this.scheduler.schedulePump();
    return { queued };
  }

  // ---- lifecycle -------------------------------------------------------------------------------

  start(): void {
    if (this.unsubscribe) return;
    this.unsubscribe = this.log.onAppend(() => this.scheduler.scheduleFanOut());
    // An endpoint to deliver to: the thread starts now, beside the first fan-out (none: at the first post).
    if (this.endpoints.list().some((e) => e.enabled)) this.thread?.warm();
    this.scheduler.start();
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    await this.scheduler.stop();
    await this.thread?.close();
  }

  /** Forgets delivered messages and attempts older than `before`; pending and dead ones stay. */
  prune(before: number): number {
    return this.store.prune(before);
  }
}
