import { type Logger, type WebhookMetrics, compileEventCel } from '../../../src/sdk/index.js';
import type { Clock } from './clock.js';
import { healthAfter } from './endpoint-health.js';
import { FAN_OUT_SLICE, type FanOut, type FanOutTarget } from './fan-out.js';
import type { Poster } from './http-client.js';
import { attemptClass, attemptColumns, type DeliveryOutcome } from './outcome.js';
import { nextAttempt } from './retry-policy.js';
import { signingSecrets } from './secret-rotation.js';
import { SettleBatch } from './settle-batch.js';
import { signedHeaders } from './signing.js';
import type { DueMessage, Outcome, StoredEndpoint, WebhookStore } from './store.js';
import type { WebhookSettings } from './types.js';

const IDLE_POLL_MS = 1000;
const SETTLE_BATCH = 256;
// Outcomes wait this long for company while endpoints have other work; an endpoint that runs out of
// work (its keys' next messages wait for these outcomes) has them recorded at once (see pump).
const SETTLE_DELAY_MS = 25;
const PREFETCH = 64;
/**
 * Records fanned out per turn and endpoint while deliveries are on the wire, and for the first turn
 * of a backlog (so that its first messages go out soon): answers wait for the turn to end, and with
 * one endpoint a 5,000-record slice (80-350 ms) left its 16 requests answered and idle for most of
 * it (bench f, 1 receiver: no delivery recorded before a 20k backlog was fanned out, 0.45-0.75 s).
 */
const FAN_OUT_BUSY_SLICE = 250;

/** What the scheduler needs besides the store: time, chance, a client per endpoint, and a way to disable one. */
export interface SchedulerDeps {
  clock: Clock;
  /** Uniform in [0, 1), for retry jitter. */
  random: () => number;
  /** A client for one endpoint's URL (its own connection pool). */
  connect: () => Poster;
  /** Disables an endpoint (its health says so); the endpoint comes back through `load`. */
  disable: (id: string, reason: string) => void;
  logger: Logger;
  /** Resolves once what the log held when called is on disk; fan-out waits for it (see scheduleFanOut). */
  durable?: () => Promise<void>;
  /** Attempts by status class, their latency and dead letters, per endpoint. */
  metrics?: WebhookMetrics;
}

interface LiveEndpoint extends FanOutTarget {
  url: URL;
  client: Poster;
  /** Messages sent or waiting for their outcome to be recorded: never picked again meanwhile. */
  inflight: Set<number>;
  /** Requests on the wire (the concurrency limit counts these). */
  sending: { n: number };
  /** Read ahead: due, reserved, not sent yet. */
  ready: DueMessage[];
}

/**
 * Delivers due messages per endpoint with its own pool and in-flight limit, so a slow or dead
 * endpoint never delays another; fans new records out first. Per key, a message waits in the store
 * until the one before it is delivered or dead. Wakes on appends, on settled outcomes and on the
 * next due time, never by polling faster than IDLE_POLL_MS.
 */
export class DeliveryScheduler {
  private readonly live = new Map<string, LiveEndpoint>();
  private readonly fanOut: FanOut;
  private readonly settled: SettleBatch<Outcome>;
  private readonly sends = new Set<Promise<void>>();
  private running = false;
  private timer: unknown = null;
  private pumpQueued = false;
  private fanOutAgain = false;
  private fanOutQueued = false;
  /** The last fan-out turn left records for the next one. */
  private fanOutBacklog = false;

  constructor(
    private readonly store: WebhookStore,
    fanOut: FanOut,
    private readonly settings: WebhookSettings,
    private readonly deps: SchedulerDeps,
  ) {
    this.fanOut = fanOut;
    this.settled = new SettleBatch(deps.clock, { size: SETTLE_BATCH, delayMs: SETTLE_DELAY_MS }, (batch) => {
      this.record(batch);
      this.schedulePump();
    });
  }

  /** Starts or refreshes delivery to an endpoint (new, changed, enabled or disabled). */
  load(endpoint: StoredEndpoint): void {
    const old = this.live.get(endpoint.id);
    const sameUrl = old && old.endpoint.url === endpoint.url;
    const client = sameUrl ? old.client : this.deps.connect();
    if (old && !sameUrl) void old.client.close();
    this.live.set(endpoint.id, {
      endpoint,
      url: new URL(endpoint.url),
      client,
      filter: endpoint.filter ? compileEventCel(endpoint.filter) : null,
      inflight: old?.inflight ?? new Set(),
      sending: old?.sending ?? { n: 0 },
      ready: old?.ready ?? [],
      filterErrorLoggedAt: 0,
    });
    this.scheduleFanOut();
  }

  async unload(id: string): Promise<void> {
    const live = this.live.get(id);
    this.live.delete(id);
    await live?.client.close();
  }

  target(id: string): FanOutTarget | undefined {
    return this.live.get(id);
  }

  start(): void {
    this.running = true;
    this.scheduleFanOut();
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer !== null) this.deps.clock.clearTimeout(this.timer);
    this.timer = null;
    await Promise.allSettled([...this.sends]);
    this.settled.flush();
    await Promise.allSettled([...this.live.keys()].map((id) => this.unload(id)));
  }

  scheduleFanOut(): void {
    if (!this.running) return;
    // Asked again while a turn waits for its fsync: records appended since then need another turn.
    if (this.fanOutQueued) {
      this.fanOutAgain = true;
      return;
    }
    this.fanOutQueued = true;
    this.deps.clock.setImmediate(() => {
      const durable = this.deps.durable;
      if (!durable) return this.fanOutNow(null);
      // Ingest answers only after its fsync, but commits before it: an event is fanned out (and may
      // be sent) only once it is on disk, so a power cut never leaves a delivered event the store
      // lost. What the log holds now is what this fsync covers.
      const synced = this.fanOut.lastOffsets(this.live.values());
      durable().then(() => this.fanOutNow(synced), (err: unknown) => {
        this.fanOutQueued = false;
        this.deps.logger.error('webhook fan-out waits: the store cannot be synced', { error: (err as Error)?.message ?? String(err) });
        this.armTimer(IDLE_POLL_MS);
      });
    });
  }

  /** One turn of fan-out, up to `synced` (offsets on disk per stream; null: all). */
  private fanOutNow(synced: ReadonlyMap<string, number> | null): void {
    this.fanOutQueued = false;
    const again = this.fanOutAgain;
    this.fanOutAgain = false;
    if (!this.running) return;
    let done: boolean;
    try {
      done = this.fanOut.run(this.live.values(), this.fanOutSlice(), synced);
    } catch (err) {
      this.deps.logger.error('webhook fan-out failed; will retry', { error: (err as Error).message });
      this.armTimer(IDLE_POLL_MS);
      return;
    }
    // What this slice queued goes out before the next slice of a backlog is read.
    this.fanOutBacklog = !done;
    this.schedulePump();
    if (!done || (again && synced !== null)) this.scheduleFanOut();
  }

  private fanOutSlice(): number {
    let small = !this.fanOutBacklog;
    for (const live of this.live.values()) small ||= live.sending.n > 0;
    return small ? Math.min(FAN_OUT_SLICE, FAN_OUT_BUSY_SLICE * this.live.size) : FAN_OUT_SLICE;
  }

  schedulePump(): void {
    if (!this.running || this.pumpQueued) return;
    this.pumpQueued = true;
    this.deps.clock.setImmediate(() => {
      this.pumpQueued = false;
      this.pump();
    });
  }

  /** Starts every due delivery an endpoint has room for, then sleeps until the next one is due. */
  private pump(): void {
    if (!this.running) return;
    const now = this.deps.clock.now();
    let nextWake = now + IDLE_POLL_MS;
    let starved = false;
    for (const live of this.live.values()) {
      if (!live.endpoint.enabled) continue;
      const room = this.settings.concurrency - live.sending.n;
      if (room <= 0) continue;
      // Due messages are read ahead (and reserved in `inflight`), so that a busy endpoint queries
      // the store once per PREFETCH deliveries rather than once per answer.
      if (live.ready.length < room) {
        for (const m of this.store.dueExcept(live.endpoint.id, now, live.inflight.size + room + PREFETCH, live.inflight)) {
          live.inflight.add(m.id);
          live.ready.push(m);
        }
      }
      for (let i = 0; i < room && live.ready.length > 0; i++) this.send(live, live.ready.shift()!);
      // Reserved messages neither read ahead nor on the wire are outcomes waiting to be recorded.
      if (live.sending.n < this.settings.concurrency && live.inflight.size > live.sending.n + live.ready.length) starved = true;
      if (live.sending.n === 0 && live.ready.length === 0) {
        const next = this.store.nextDue(live.endpoint.id);
        if (next !== null && next > now) nextWake = Math.min(nextWake, next);
      }
    }
    this.armTimer(Math.max(1, nextWake - now));
    // An endpoint with room, nothing to send and outcomes waiting may be waiting for them (the next
    // message of a key is due only once the one before it is recorded): record them now.
    if (starved && this.settled.size > 0) this.settled.flush();
  }

  private armTimer(ms: number): void {
    if (!this.running) return;
    if (this.timer !== null) this.deps.clock.clearTimeout(this.timer);
    this.timer = this.deps.clock.setTimeout(() => {
      this.timer = null;
      this.scheduleFanOut();
      this.schedulePump();
    }, ms);
  }

  private send(live: LiveEndpoint, message: DueMessage): void {
    live.sending.n++;
    const endpoint = live.endpoint;
    const now = this.deps.clock.now();
    const signing = { eventId: message.eventId, timestampSeconds: Math.floor(now / 1000), secrets: signingSecrets(endpoint.secrets, now) };
    // A client with a thread of its own signs there.
    const posted = live.client.postSigned
      ? live.client.postSigned(live.url, signing, message.payload)
      : live.client.post(live.url, signedHeaders(signing, message.payload), message.payload);
    // The message leaves `inflight` only once its outcome is recorded, so no pump sends it twice.
    const sending = posted.then((result) => {
      live.sending.n--;
      this.settled.add(this.settlement(endpoint.id, message, { ...result, time: this.deps.clock.now() }));
      this.schedulePump();
    }, () => {
      // No outcome (the delivery thread died; it logged why): not an attempt, the message is sent again.
      live.sending.n--;
      live.inflight.delete(message.id);
      this.schedulePump();
    });
    this.sends.add(sending);
    void sending.finally(() => this.sends.delete(sending));
  }

  private settlement(endpointId: string, message: DueMessage, outcome: DeliveryOutcome): Outcome {
    const step = nextAttempt(outcome, message.attempts + 1, this.settings, this.deps.random);
    return {
      endpointId, message, time: outcome.time, ...attemptColumns(outcome), result: step.result, nextAt: step.result === 'retry' ? step.at : null,
      statusClass: attemptClass(outcome),
    };
  }

  /** Records a batch of outcomes in one transaction, then lets them count towards endpoint health. */
  private record(outcomes: Outcome[]): void {
    // Outcomes of an endpoint deleted meanwhile are forgotten with it.
    const batch = outcomes.filter((o) => this.live.has(o.endpointId));
    const release = () => {
      for (const o of batch) this.live.get(o.endpointId)?.inflight.delete(o.message.id);
    };
    try {
      this.store.settle(batch);
      release();
    } catch (err) {
      release();
      // The messages stay pending in the store and are sent again: at least once, never lost.
      this.deps.logger.error('could not record webhook deliveries; they will be sent again', { error: (err as Error).message, count: batch.length });
      return;
    }
    const metrics = this.deps.metrics;
    for (const o of batch) {
      if (metrics) {
        metrics.attempt(o.endpointId, o.statusClass ?? 'error', o.latencyMs / 1000);
        if (o.result === 'dead') metrics.deadLettered(o.endpointId);
      }
      this.afterOutcome(o);
    }
  }

  private afterOutcome(o: Outcome): void {
    const live = this.live.get(o.endpointId);
    if (!live) return;
    const e = live.endpoint;
    if (o.result === 'dead') this.deps.logger.warn('webhook delivery failed for good; the event is in the endpoint\'s dead letters', { webhook: e.id, event: o.message.eventId, error: o.error });
    const failingSince = e.failingSince === null ? null : Date.parse(e.failingSince);
    const health = healthAfter({ enabled: e.enabled, failingSince }, o.result, o.time, this.settings.disableAfterMs);
    switch (health.change) {
      case 'recovered':
        this.store.setFailingSince(e.id, null);
        e.failingSince = null;
        break;
      case 'failing':
        this.store.setFailingSince(e.id, health.since);
        e.failingSince = new Date(health.since).toISOString();
        break;
      case 'disable':
        this.deps.disable(e.id, health.reason);
        break;
    }
  }
}
