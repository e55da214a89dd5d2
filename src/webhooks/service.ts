import { randomBytes } from 'node:crypto';
import type { Logger } from '../logger.js';
import { compileEventCel, type CompiledCel } from '../rules/cel.js';
import { ExpressionError } from '../rules/expression.js';
import type { EventStore } from '../store/types.js';
import { urlProblem } from './address-guard.js';
import { webhookEvent } from './event-body.js';
import { EndpointClient } from './http-client.js';
import { generateSecret, secretProblem, signatureHeader } from './signing.js';
import { WebhookStore, type DueMessage, type NewMessage, type Outcome, type StoredEndpoint } from './store.js';
import type { DeliveryAttempt, EndpointInput, WebhookEndpoint, WebhookMessage, WebhookRegistrar, WebhookSettings } from './types.js';

/** A request the caller got wrong; `field` is a JSON pointer into the request body or query. */
export class WebhookInputError extends Error {
  constructor(
    message: string,
    readonly field: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = 'WebhookInputError';
  }
}

const RETIRED = 'no longer in reflex.yaml';
const FAN_OUT_BATCH = 500;
const FAN_OUT_SLICE = 5000;
const IDLE_POLL_MS = 1000;
const SETTLE_BATCH = 256;
const SETTLE_DELAY_MS = 5;
const PREFETCH = 64;

interface Live {
  endpoint: StoredEndpoint;
  url: URL;
  client: EndpointClient;
  filter: CompiledCel | null;
  /** Messages sent or waiting for their outcome to be recorded: never picked again meanwhile. */
  inflight: Set<number>;
  /** Requests on the wire (the concurrency limit counts these). */
  sending: { n: number };
  /** Read ahead: due, reserved, not sent yet. */
  ready: DueMessage[];
  /** When this endpoint's fan-out last logged a filter failure (one line per 30 s at most). */
  filterErrorLoggedAt: number;
}

/**
 * Webhook delivery: fans new records out to each endpoint's queue (one row per event and
 * endpoint), then delivers due messages per endpoint with its own pool and in-flight limit, so a
 * slow or dead endpoint never delays another. Per key, a message waits until the one before it is
 * delivered or dead. Outcomes are settled in batches, one transaction per turn of the event loop.
 */
export class WebhookService implements WebhookRegistrar {
  private readonly store: WebhookStore;
  private readonly live = new Map<string, Live>();
  private running = false;
  private timer: NodeJS.Timeout | null = null;
  private pumpQueued = false;
  private fanOutQueued = false;
  private readonly settling: Outcome[] = [];
  private settleQueued = false;
  private readonly inflightSends = new Set<Promise<void>>();
  private unsubscribe: (() => void) | null = null;
  private readonly declared = new Set<string>();

  constructor(
    private readonly events: EventStore & { db: ConstructorParameters<typeof WebhookStore>[0] },
    private readonly settings: WebhookSettings,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.store = new WebhookStore(events.db);
    for (const endpoint of this.store.endpoints()) this.load(endpoint);
  }

  // ---- endpoints -------------------------------------------------------------------------------

  list(): WebhookEndpoint[] {
    return this.store.endpoints().map((e) => this.view(e));
  }

  get(id: string): (WebhookEndpoint & { counts: Record<string, number> }) | null {
    const e = this.store.endpoint(id);
    return e ? { ...this.view(e), counts: this.store.counts(id) } : null;
  }

  /** Registers an endpoint; the answer is the only place its secret is shown. */
  create(input: EndpointInput): WebhookEndpoint & { secret: string } {
    const id = 'ep_' + randomBytes(10).toString('hex');
    const secret = this.insert(id, input, 'api');
    return { ...this.view(this.store.endpoint(id)!), secret };
  }

  /** A `type: webhook` block of reflex.yaml: created, or brought in line with the file. */
  declare(id: string, input: EndpointInput): void {
    this.declared.add(id);
    const existing = this.store.endpoint(id);
    if (!existing) {
      this.insert(id, input, 'config');
      return;
    }
    if (existing.origin !== 'config') throw new Error(`webhook '${id}' from reflex.yaml clashes with an endpoint registered over the API`);
    this.validate(input, '');
    const secret = input.secret!;
    const now = this.now();
    const keep = existing.secrets.filter((s) => s.secret !== secret && s.expiresAt !== null && s.expiresAt > now);
    const secrets = existing.secrets[0]?.secret === secret ? existing.secrets : [{ secret, expiresAt: null }, ...keep];
    this.store.updateEndpoint(id, { url: input.url, streams: input.streams, types: input.types ?? null, filter: input.filter ?? null, description: input.description ?? null, secrets }, now);
    this.initCursors(id, input.streams);
    if (!existing.enabled && existing.disabledReason === RETIRED) this.store.setEnabled(id, true, null, now);
    this.load(this.store.endpoint(id)!);
  }

  /** After the config's endpoints are declared: ones declared before but gone from the file are disabled. */
  retireUndeclared(): void {
    for (const e of this.store.endpoints()) {
      if (e.origin === 'config' && !this.declared.has(e.id) && e.enabled) {
        this.setEnabled(e.id, false, RETIRED);
      }
    }
  }

  update(id: string, patch: Partial<EndpointInput>): WebhookEndpoint {
    const e = this.mustGet(id);
    if (e.origin === 'config' && Object.keys(patch).some((k) => k !== 'enabled')) {
      throw new WebhookInputError(`webhook '${id}' is declared in reflex.yaml; change it there (only "enabled" can be set here)`, '', 409);
    }
    const merged: EndpointInput = {
      url: patch.url ?? e.url,
      streams: patch.streams ?? e.streams,
      types: patch.types !== undefined ? patch.types : e.types,
      filter: patch.filter !== undefined ? patch.filter : e.filter,
      description: patch.description !== undefined ? patch.description : e.description,
    };
    this.validate(merged, '');
    if (patch.secret !== undefined) throw new WebhookInputError('use POST /webhooks/{id}/rotate-secret to change the secret', '/secret');
    this.store.updateEndpoint(id, { ...merged, types: merged.types ?? null, filter: merged.filter ?? null, description: merged.description ?? null, secrets: e.secrets }, this.now());
    if (patch.streams) this.initCursors(id, merged.streams);
    if (patch.enabled !== undefined && patch.enabled !== e.enabled) this.setEnabled(id, patch.enabled, 'disabled over the API');
    this.load(this.store.endpoint(id)!);
    return this.view(this.store.endpoint(id)!);
  }

  delete(id: string): void {
    const e = this.mustGet(id);
    if (e.origin === 'config') throw new WebhookInputError(`webhook '${id}' is declared in reflex.yaml; remove it there`, '', 409);
    void this.unload(id);
    this.store.deleteEndpoint(id);
  }

  /** A new secret signs from now on; the old one keeps signing beside it for the grace period. */
  rotateSecret(id: string, secret?: string): { secret: string; previousValidUntil: string } {
    const e = this.mustGet(id);
    if (e.origin === 'config') throw new WebhookInputError(`webhook '${id}' is declared in reflex.yaml; change its secret there`, '', 409);
    if (secret !== undefined) {
      const problem = secretProblem(secret);
      if (problem) throw new WebhookInputError(problem, '/secret');
    }
    const next = secret ?? generateSecret();
    const now = this.now();
    const until = now + this.settings.rotationGraceMs;
    const previous = e.secrets.filter((s) => s.expiresAt === null || s.expiresAt > now).map((s) => ({ secret: s.secret, expiresAt: s.expiresAt ?? until }));
    this.store.setSecrets(id, [{ secret: next, expiresAt: null }, ...previous], now);
    this.load(this.store.endpoint(id)!);
    return { secret: next, previousValidUntil: new Date(until).toISOString() };
  }

  // ---- deliveries ------------------------------------------------------------------------------

  deliveries(id: string, options: { before?: number; limit: number; eventId?: string }): DeliveryAttempt[] {
    this.mustGet(id);
    return this.store.attempts(id, options);
  }

  messages(id: string, status: WebhookMessage['status'], afterId: number, limit: number): WebhookMessage[] {
    this.mustGet(id);
    return this.store.messages(id, status, afterId, limit);
  }

  /** Sends one event again (delivered or dead), now. */
  retry(id: string, eventId: string): WebhookMessage {
    this.mustGet(id);
    const message = this.store.message(id, eventId);
    if (!message) throw new WebhookInputError(`event '${eventId}' was never queued for webhook '${id}'`, '/eventId', 404);
    if (message.status !== 'pending') this.store.retryMessage(id, eventId, this.now());
    this.schedulePump();
    const { payload: _payload, ...view } = this.store.message(id, eventId)!;
    return view;
  }

  /** Every dead message of the endpoint becomes pending again. */
  retryDead(id: string): number {
    this.mustGet(id);
    let n = 0;
    for (let after = 0; ; ) {
      const page = this.store.messages(id, 'dead', after, 500);
      if (page.length === 0) break;
      for (const m of page) if (this.store.retryMessage(id, m.eventId, this.now())) n++;
      after = page[page.length - 1]!.id;
    }
    this.schedulePump();
    return n;
  }

  /**
   * Queues the endpoint's events again from an offset of one stream, or from a time on all its
   * streams, up to what it has already been given (newer records come by the normal way).
   */
  replay(id: string, from: { offset: number; stream: string } | { timeMs: number }): { queued: number } {
    const e = this.mustGet(id);
    const live = this.live.get(id)!;
    const streams = this.streamsOf(e);
    const starts = new Map<string, number>();
    if ('offset' in from) {
      if (!streams.includes(from.stream)) throw new WebhookInputError(`webhook '${id}' does not take stream '${from.stream}' (it takes ${streams.join(', ') || 'none yet'})`, '/stream');
      starts.set(from.stream, Math.max(0, from.offset - 1));
    } else {
      for (const stream of streams) {
        const first = this.events.firstOffsetSince(stream, from.timeMs);
        if (first !== null) starts.set(stream, first - 1);
      }
    }
    let queued = 0;
    for (const [stream, start] of starts) {
      const end = this.store.cursor(id, stream) ?? 0;
      for (let after = start; after < end; ) {
        const records = this.events.read(stream, after, Math.min(FAN_OUT_BATCH, end - after));
        if (records.length === 0) break;
        after = records[records.length - 1]!.offset;
        const messages = this.select(live, records.filter((r) => r.offset <= end));
        queued += this.store.fanOut(id, new Map(), messages, this.now());
      }
    }
    this.schedulePump();
    return { queued };
  }

  // ---- lifecycle -------------------------------------------------------------------------------

  start(): void {
    if (this.running) return;
    this.running = true;
    this.unsubscribe = this.events.onAppend(() => this.scheduleFanOut());
    this.scheduleFanOut();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.unsubscribe?.();
    if (this.timer) clearTimeout(this.timer);
    await Promise.allSettled([...this.inflightSends]);
    this.flushSettled();
    await Promise.allSettled([...this.live.keys()].map((id) => this.unload(id)));
  }

  /** The lowest offset of `stream` that every endpoint has fanned out (retention keeps the rest). */
  fannedOutOffset(stream: string): number {
    let min = Number.POSITIVE_INFINITY;
    for (const { endpoint } of this.live.values()) {
      if (!this.takes(endpoint, stream)) continue;
      min = Math.min(min, this.store.cursor(endpoint.id, stream) ?? 0);
    }
    return min;
  }

  prune(before: number): number {
    return this.store.prune(before);
  }

  // ---- internals -------------------------------------------------------------------------------

  private mustGet(id: string): StoredEndpoint {
    const e = this.store.endpoint(id);
    if (!e) throw new WebhookInputError(`no webhook '${id}'`, '', 404);
    return e;
  }

  private view(e: StoredEndpoint): WebhookEndpoint {
    const { secrets: _secrets, ...rest } = e;
    return rest;
  }

  private validate(input: EndpointInput, base: string): void {
    if (typeof input.url !== 'string') throw new WebhookInputError('url is required', `${base}/url`);
    const problem = urlProblem(input.url, this.settings.allowPrivateAddresses);
    if (problem) throw new WebhookInputError(problem, `${base}/url`);
    if (!Array.isArray(input.streams) || input.streams.length === 0) throw new WebhookInputError('streams lists the streams to deliver (or "*")', `${base}/streams`);
    input.streams.forEach((s, i) => {
      if (s !== '*' && !this.events.hasStream(s)) {
        throw new WebhookInputError(`no stream named '${s}' (streams: ${this.events.streamNames().sort().join(', ')})`, `${base}/streams/${i}`);
      }
    });
    if (input.filter) {
      try {
        compileEventCel(input.filter);
      } catch (err) {
        const e = err as ExpressionError;
        throw new WebhookInputError(`filter: ${e.message}${e instanceof ExpressionError && e.offset !== undefined ? ` (at character ${e.offset})` : ''}`, `${base}/filter`);
      }
    }
    if (input.secret !== undefined && input.secret !== null) {
      const p = secretProblem(input.secret);
      if (p) throw new WebhookInputError(p, `${base}/secret`);
    }
  }

  private insert(id: string, input: EndpointInput, origin: 'api' | 'config'): string {
    this.validate(input, '');
    const secret = input.secret ?? generateSecret();
    const now = this.now();
    this.store.insertEndpoint(id, {
      url: input.url, streams: input.streams, types: input.types ?? null, filter: input.filter ?? null,
      description: input.description ?? null, enabled: input.enabled ?? true,
    }, [{ secret, expiresAt: null }], origin, now);
    // A new endpoint gets what happens from now on; replay reaches back further.
    this.initCursors(id, input.streams);
    this.load(this.store.endpoint(id)!);
    this.scheduleFanOut();
    return secret;
  }

  private initCursors(id: string, streams: string[]): void {
    const names = streams.includes('*') ? this.events.streamNames() : streams;
    for (const stream of names) {
      if (this.store.cursor(id, stream) === null) this.store.setCursor(id, stream, this.events.lastOffset(stream));
    }
  }

  private load(endpoint: StoredEndpoint): void {
    const old = this.live.get(endpoint.id);
    const sameUrl = old && old.endpoint.url === endpoint.url;
    const client = sameUrl ? old.client : new EndpointClient({
      allowPrivateAddresses: this.settings.allowPrivateAddresses,
      timeoutMs: this.settings.timeoutMs,
      maxResponseBytes: this.settings.maxResponseBytes,
      connections: this.settings.concurrency,
    });
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

  private async unload(id: string): Promise<void> {
    const live = this.live.get(id);
    this.live.delete(id);
    await live?.client.close();
  }

  private setEnabled(id: string, enabled: boolean, reason: string): void {
    this.store.setEnabled(id, enabled, reason, this.now());
    if (!enabled) this.logger.warn('webhook endpoint disabled', { webhook: id, reason });
    else this.logger.info('webhook endpoint enabled', { webhook: id });
    const e = this.store.endpoint(id);
    if (e) this.load(e);
  }

  private takes(e: WebhookEndpoint, stream: string): boolean {
    return e.streams.includes('*') || e.streams.includes(stream);
  }

  private streamsOf(e: WebhookEndpoint): string[] {
    return this.events.streamNames().filter((s) => this.takes(e, s)).sort();
  }

  private select(live: Live, records: ReturnType<EventStore['read']>): NewMessage[] {
    const { endpoint } = live;
    const out: NewMessage[] = [];
    for (const record of records) {
      const event = webhookEvent(record);
      if (endpoint.types && !endpoint.types.some((t) => t === event.type || (t.endsWith('*') && event.type.startsWith(t.slice(0, -1))))) continue;
      if (live.filter) {
        let pass = false;
        try {
          pass = live.filter.evaluate({ event }) === true;
        } catch (err) {
          // A filter that cannot be evaluated on this event (a missing field) does not match it.
          if (this.now() - live.filterErrorLoggedAt > 30_000) {
            live.filterErrorLoggedAt = this.now();
            this.logger.warn('webhook filter failed on an event; the event is not delivered there', { webhook: endpoint.id, event: event.id, error: (err as Error).message });
          }
        }
        if (!pass) continue;
      }
      out.push({ eventId: event.id, stream: record.stream, offset: record.offset, key: record.key ?? event.subject ?? null, payload: JSON.stringify(event) });
    }
    return out;
  }

  private scheduleFanOut(): void {
    if (!this.running || this.fanOutQueued) return;
    this.fanOutQueued = true;
    setImmediate(() => {
      this.fanOutQueued = false;
      try {
        this.fanOut();
      } catch (err) {
        this.logger.error('webhook fan-out failed; will retry', { error: (err as Error).message });
        this.armTimer(IDLE_POLL_MS);
        return;
      }
      this.schedulePump();
    });
  }

  /**
   * Moves enabled endpoints' cursors towards the end of their streams, queueing what they take; at
   * most FAN_OUT_SLICE records per call, so a large backlog never holds the event loop for long.
   */
  private fanOut(): void {
    let budget = FAN_OUT_SLICE;
    for (const live of this.live.values()) {
      const { endpoint } = live;
      // A disabled endpoint's cursor waits: re-enabling it delivers what it missed.
      if (!endpoint.enabled) continue;
      for (const stream of this.streamsOf(endpoint)) {
        let after = this.store.cursor(endpoint.id, stream) ?? 0;
        const last = this.events.lastOffset(stream);
        while (after < last) {
          if (budget <= 0) {
            this.scheduleFanOut();
            return;
          }
          const records = this.events.read(stream, after, Math.min(FAN_OUT_BATCH, budget));
          if (records.length === 0) break;
          budget -= records.length;
          after = records[records.length - 1]!.offset;
          this.store.fanOut(endpoint.id, new Map([[stream, after]]), this.select(live, records), this.now());
        }
      }
    }
  }

  private schedulePump(): void {
    if (!this.running || this.pumpQueued) return;
    this.pumpQueued = true;
    setImmediate(() => {
      this.pumpQueued = false;
      this.pump();
    });
  }

  /** Starts every due delivery an endpoint has room for, then sleeps until the next one is due. */
  private pump(): void {
    if (!this.running) return;
    const now = this.now();
    let nextWake = now + IDLE_POLL_MS;
    for (const live of this.live.values()) {
      if (!live.endpoint.enabled) continue;
      const room = this.settings.concurrency - live.sending.n;
      if (room <= 0) continue;
      // Due messages are read ahead (and reserved in `inflight`), so that a busy endpoint queries
      // the store once per PREFETCH deliveries rather than once per answer.
      if (live.ready.length < room) {
        const due = this.store.due(live.endpoint.id, now, live.inflight.size + room + PREFETCH);
        for (const m of due) {
          if (live.inflight.has(m.id)) continue;
          live.inflight.add(m.id);
          live.ready.push(m);
        }
      }
      for (let i = 0; i < room && live.ready.length > 0; i++) this.send(live, live.ready.shift()!);
      if (live.sending.n === 0 && live.ready.length === 0) {
        const next = this.store.nextDue(live.endpoint.id);
        if (next !== null && next > now) nextWake = Math.min(nextWake, next);
      }
    }
    this.armTimer(Math.max(1, nextWake - now));
  }

  private armTimer(ms: number): void {
    if (!this.running) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.scheduleFanOut();
      this.schedulePump();
    }, ms);
    this.timer.unref();
  }

  private send(live: Live, message: DueMessage): void {
    live.sending.n++;
    const endpoint = live.endpoint;
    const now = this.now();
    const timestamp = Math.floor(now / 1000);
    const secrets = endpoint.secrets.filter((s) => s.expiresAt === null || s.expiresAt > now).map((s) => s.secret);
    const headers = {
      'content-type': 'application/cloudevents+json; charset=utf-8',
      'user-agent': 'reflex-webhooks',
      'webhook-id': message.eventId,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signatureHeader(secrets, message.eventId, timestamp, message.payload),
    };
    // The message leaves `inflight` only once its outcome is recorded, so no pump sends it twice.
    const sending = live.client.post(live.url, headers, message.payload).then((result) => {
      live.sending.n--;
      this.settling.push(this.classify(live, message, result));
      this.scheduleSettle();
    });
    this.inflightSends.add(sending);
    void sending.finally(() => this.inflightSends.delete(sending));
  }

  private classify(live: Live, message: DueMessage, result: Awaited<ReturnType<EndpointClient['post']>>): Outcome {
    const time = this.now();
    const base = { endpointId: live.endpoint.id, message, time, statusCode: result.status, latencyMs: result.latencyMs, responseBody: result.responseBody };
    if (result.status !== null && result.status >= 200 && result.status < 300) {
      return { ...base, error: null, result: 'delivered', nextAt: null };
    }
    const error = result.error ?? `HTTP ${result.status}`;
    if (result.status === 410) return { ...base, error, result: 'held', nextAt: null };
    const attempt = message.attempts + 1;
    const schedule = this.settings.retryScheduleMs;
    if (attempt >= schedule.length) return { ...base, error, result: 'dead', nextAt: null };
    const spread = 1 + this.settings.jitter * (Math.random() * 2 - 1);
    return { ...base, error, result: 'retry', nextAt: time + Math.round(schedule[attempt]! * spread) };
  }

  /**
   * Outcomes are recorded together, at most SETTLE_DELAY_MS after the first: one commit (one fsync)
   * for many deliveries. The slot on the wire is free at once; only the message waits.
   */
  private scheduleSettle(): void {
    if (this.settling.length >= SETTLE_BATCH) {
      this.flushSettled();
      this.schedulePump();
      return;
    }
    this.schedulePump();
    if (this.settleQueued) return;
    this.settleQueued = true;
    setTimeout(() => {
      this.settleQueued = false;
      this.flushSettled();
      this.schedulePump();
    }, SETTLE_DELAY_MS);
  }

  private flushSettled(): void {
    if (this.settling.length === 0) return;
    // Outcomes of an endpoint deleted meanwhile are forgotten with it.
    const batch = this.settling.splice(0).filter((o) => this.live.has(o.endpointId));
    const release = () => {
      for (const o of batch) this.live.get(o.endpointId)?.inflight.delete(o.message.id);
    };
    try {
      this.store.settle(batch);
      release();
    } catch (err) {
      release();
      // The messages stay pending in the store and are sent again: at least once, never lost.
      this.logger.error('could not record webhook deliveries; they will be sent again', { error: (err as Error).message, count: batch.length });
      return;
    }
    for (const o of batch) this.afterOutcome(o);
  }

  /** Endpoint health: a success clears the failure clock; 410 or failing too long disables it. */
  private afterOutcome(o: Outcome): void {
    const live = this.live.get(o.endpointId);
    if (!live) return;
    const e = live.endpoint;
    if (o.result === 'dead') this.logger.warn('webhook delivery failed for good; the event is in the endpoint\'s dead letters', { webhook: e.id, event: o.message.eventId, error: o.error });
    if (o.result === 'delivered') {
      if (e.failingSince !== null) {
        this.store.setFailingSince(e.id, null);
        e.failingSince = null;
      }
      return;
    }
    if (o.result === 'held') {
      if (e.enabled) this.setEnabled(e.id, false, 'the receiver answered 410 Gone');
      return;
    }
    if (e.failingSince === null) {
      this.store.setFailingSince(e.id, o.time);
      e.failingSince = new Date(o.time).toISOString();
    } else if (e.enabled && o.time - Date.parse(e.failingSince) >= this.settings.disableAfterMs) {
      this.setEnabled(e.id, false, `failing since ${e.failingSince}`);
    }
  }
}
