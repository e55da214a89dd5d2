import type Database from 'better-sqlite3';
import { migrateOwnTables, webhookOwner, type SubscriptionStore } from '../../../src/sdk/index.js';
import { WEBHOOK_TABLES } from './tables.js';
import { unsynced } from './unsynced.js';
import type { DeliveryAttempt, EndpointInput, MessageStatus, WebhookEndpoint, WebhookMessage } from './types.js';

export const BLOCKED = 9_000_000_000_000_000;
const STATUS: MessageStatus[] = ['pending', 'delivered', 'dead'];

export interface StoredSecret {
  secret: string;
  /** ms; null for the current secret. */
  expiresAt: number | null;
}

export interface StoredEndpoint extends WebhookEndpoint {
  secrets: StoredSecret[];
}

export interface NewMessage {
  eventId: string;
  stream: string;
  offset: number;
  key: string | null;
  payload: string;
}

export interface DueMessage {
  id: number;
  eventId: string;
  key: string | null;
  payload: string;
  attempts: number;
}

export interface Outcome {
  endpointId: string;
  message: DueMessage;
  time: number;
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
  responseBody: string | null;
  /** 'delivered', 'retry' (at nextAt), 'dead', or 'held' (endpoint disabled: stays pending). */
  result: 'delivered' | 'retry' | 'dead' | 'held';
  nextAt: number | null;
  /** For the metrics only (attemptClass); not stored. */
  statusClass?: string;
}

interface EndpointRow {
  id: string; url: string; streams: string; types: string | null; filter: string | null; description: string | null;
  secrets: string; enabled: number; disabled_reason: string | null; disabled_at: number | null; failing_since: number | null;
  origin: 'api' | 'config'; created_at: number; updated_at: number;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function toEndpoint(r: EndpointRow): StoredEndpoint {
  return {
    id: r.id,
    url: r.url,
    streams: JSON.parse(r.streams) as string[],
    types: r.types === null ? null : (JSON.parse(r.types) as string[]),
    filter: r.filter,
    description: r.description,
    enabled: r.enabled === 1,
    disabledReason: r.disabled_reason,
    disabledAt: iso(r.disabled_at),
    failingSince: iso(r.failing_since),
    origin: r.origin,
    createdAt: iso(r.created_at)!,
    updatedAt: iso(r.updated_at)!,
    secrets: JSON.parse(r.secrets) as StoredSecret[],
  };
}

export class WebhookStore {
  private readonly s;
  private readonly settleTx: (outcomes: Outcome[]) => void;
  private readonly fanOutTx: (endpointId: string, cursors: Map<string, number>, messages: NewMessage[], now: number) => number;

  /** The endpoints' fan-out cursors are their subscriptions (owner `webhook:<id>`) in the same file. */
  constructor(
    private readonly db: Database.Database,
    private readonly subscriptions: SubscriptionStore,
  ) {
    migrateOwnTables(db, 'webhook', WEBHOOK_TABLES);
    this.s = {
      endpoints: db.prepare('SELECT * FROM webhook_endpoints ORDER BY created_at, id'),
      endpoint: db.prepare('SELECT * FROM webhook_endpoints WHERE id = ?'),
      insertEndpoint: db.prepare(`INSERT INTO webhook_endpoints(id, url, streams, types, filter, description, secrets, enabled, origin, created_at, updated_at)
        VALUES (@id, @url, @streams, @types, @filter, @description, @secrets, @enabled, @origin, @now, @now)`),
      updateEndpoint: db.prepare(`UPDATE webhook_endpoints SET url = @url, streams = @streams, types = @types, filter = @filter,
        description = @description, secrets = @secrets, updated_at = @now WHERE id = @id`),
      setEnabled: db.prepare('UPDATE webhook_endpoints SET enabled = ?, disabled_reason = ?, disabled_at = ?, failing_since = CASE WHEN ? = 1 THEN NULL ELSE failing_since END, updated_at = ? WHERE id = ?'),
      setFailingSince: db.prepare('UPDATE webhook_endpoints SET failing_since = ? WHERE id = ?'),
      setSecrets: db.prepare('UPDATE webhook_endpoints SET secrets = ?, updated_at = ? WHERE id = ?'),
      deleteEndpoint: db.prepare('DELETE FROM webhook_endpoints WHERE id = ?'),
      deleteMessages: db.prepare('DELETE FROM webhook_messages WHERE endpoint_id = ?'),
      deleteAttempts: db.prepare('DELETE FROM webhook_attempts WHERE endpoint_id = ?'),
      pendingOfKey: db.prepare('SELECT 1 FROM webhook_messages WHERE endpoint_id = ? AND key = ? AND status = 0 LIMIT 1').pluck(),
      // A replayed or re-sent event becomes pending again; its row (and place in key order) stays.
      upsertMessage: db.prepare(`INSERT INTO webhook_messages(endpoint_id, event_id, stream, offset, key, status, attempts, next_at, created_at, updated_at)
        VALUES (@endpointId, @eventId, @stream, @offset, @key, 0, 0, @nextAt, @now, @now)
        ON CONFLICT(endpoint_id, event_id) DO UPDATE SET status = 0, attempts = 0, next_at = excluded.next_at, last_error = NULL, updated_at = excluded.updated_at
        WHERE webhook_messages.status <> 0`),
      // One body per event, whichever endpoints take it; a re-sent event's newer text replaces it.
      upsertBody: db.prepare(`INSERT INTO webhook_bodies(event_id, payload) VALUES (?, ?)
        ON CONFLICT(event_id) DO UPDATE SET payload = excluded.payload WHERE payload <> excluded.payload`),
      due: db.prepare(`SELECT m.id, m.event_id AS eventId, m.key, b.payload, m.attempts FROM webhook_messages m JOIN webhook_bodies b ON b.event_id = m.event_id
        WHERE m.endpoint_id = ? AND m.status = 0 AND m.next_at <= ? ORDER BY m.next_at, m.id LIMIT ?`),
      // Ids only (the due index covers them): rows already reserved are not read again for their payload.
      dueIds: db.prepare('SELECT id FROM webhook_messages WHERE endpoint_id = ? AND status = 0 AND next_at <= ? ORDER BY next_at, id LIMIT ?').pluck(),
      dueById: db.prepare(`SELECT m.id, m.event_id AS eventId, m.key, b.payload, m.attempts FROM webhook_messages m JOIN webhook_bodies b ON b.event_id = m.event_id
        WHERE m.id = ?`),
      nextDue: db.prepare('SELECT MIN(next_at) FROM webhook_messages WHERE endpoint_id = ? AND status = 0').pluck(),
      settle: db.prepare('UPDATE webhook_messages SET status = @status, attempts = attempts + 1, next_at = @nextAt, last_status = @statusCode, last_error = @error, updated_at = @time WHERE id = @id'),
      unblockNext: db.prepare(`UPDATE webhook_messages SET next_at = @time WHERE id = (
        SELECT id FROM webhook_messages WHERE endpoint_id = @endpointId AND key = @key AND status = 0 AND id > @id ORDER BY id LIMIT 1) AND next_at = ${BLOCKED}`),
      insertAttempt: db.prepare(`INSERT INTO webhook_attempts(endpoint_id, event_id, attempt, time, status_code, latency_ms, error, response_body, next_retry_at)
        VALUES (@endpointId, @eventId, @attempt, @time, @statusCode, @latencyMs, @error, @responseBody, @nextRetryAt)`),
      attempts: db.prepare('SELECT * FROM webhook_attempts WHERE endpoint_id = ? AND id < ? ORDER BY id DESC LIMIT ?'),
      attemptsOfEvent: db.prepare('SELECT * FROM webhook_attempts WHERE endpoint_id = ? AND event_id = ? ORDER BY id DESC LIMIT ?'),
      messages: db.prepare('SELECT * FROM webhook_messages WHERE endpoint_id = ? AND status = ? AND id > ? ORDER BY id LIMIT ?'),
      message: db.prepare(`SELECT m.*, b.payload FROM webhook_messages m LEFT JOIN webhook_bodies b ON b.event_id = m.event_id
        WHERE m.endpoint_id = ? AND m.event_id = ?`),
      retryMessage: db.prepare('UPDATE webhook_messages SET status = 0, attempts = 0, next_at = ?, updated_at = ? WHERE endpoint_id = ? AND event_id = ? AND status <> 0'),
      sendNow: db.prepare('UPDATE webhook_messages SET next_at = ?, updated_at = ? WHERE endpoint_id = ? AND event_id = ? AND status = 0 AND next_at > ?'),
      counts: db.prepare('SELECT status, COUNT(*) AS n FROM webhook_messages WHERE endpoint_id = ? GROUP BY status'),
      // Ids grow with time, so old rows are a prefix of the table: no time index to keep up per delivery.
      pruneFloor: db.prepare('SELECT id FROM webhook_messages WHERE created_at >= ? ORDER BY id LIMIT 1').pluck(),
      pruneMessages: db.prepare('DELETE FROM webhook_messages WHERE status = 1 AND updated_at < @before AND id < @floor'),
      // Before the messages go: the bodies that only messages about to be pruned need.
      pruneBodies: db.prepare(`DELETE FROM webhook_bodies WHERE event_id IN (
          SELECT event_id FROM webhook_messages WHERE status = 1 AND updated_at < @before AND id < @floor)
        AND NOT EXISTS (SELECT 1 FROM webhook_messages m WHERE m.endpoint_id IN (SELECT id FROM webhook_endpoints) AND m.event_id = webhook_bodies.event_id
          AND NOT (m.status = 1 AND m.updated_at < @before AND m.id < @floor))`),
      // Run while the endpoint's row is gone and its messages are not: what only they need.
      deleteBodiesOf: db.prepare(`DELETE FROM webhook_bodies WHERE event_id IN (SELECT event_id FROM webhook_messages WHERE endpoint_id = @id)
        AND NOT EXISTS (SELECT 1 FROM webhook_messages m WHERE m.endpoint_id IN (SELECT id FROM webhook_endpoints) AND m.event_id = webhook_bodies.event_id)`),
      pruneAttempts: db.prepare(`DELETE FROM webhook_attempts
        WHERE id < COALESCE((SELECT id FROM webhook_attempts WHERE time >= @before ORDER BY id LIMIT 1), 9e18)`),
    };
    this.settleTx = unsynced(db, db.transaction((outcomes: Outcome[]) => {
      for (const o of outcomes) this.settleOne(o);
    }));
    this.fanOutTx = unsynced(db, db.transaction((endpointId: string, cursors: Map<string, number>, messages: NewMessage[], now: number) => {
      let added = 0;
      for (const m of messages) {
        const blocked = m.key !== null && this.s.pendingOfKey.get(endpointId, m.key) !== undefined;
        this.s.upsertBody.run(m.eventId, m.payload);
        added += this.s.upsertMessage.run({ endpointId, eventId: m.eventId, stream: m.stream, offset: m.offset, key: m.key, nextAt: blocked ? BLOCKED : now, now }).changes;
      }
      if (cursors.size > 0) this.subscriptions.commit(webhookOwner(endpointId), cursors);
      return added;
    }));
  }

  endpoints(): StoredEndpoint[] {
    return (this.s.endpoints.all() as EndpointRow[]).map(toEndpoint);
  }

  endpoint(id: string): StoredEndpoint | null {
    const row = this.s.endpoint.get(id) as EndpointRow | undefined;
    return row ? toEndpoint(row) : null;
  }

  insertEndpoint(id: string, input: Required<Omit<EndpointInput, 'secret' | 'enabled'>> & { enabled: boolean }, secrets: StoredSecret[], origin: 'api' | 'config', now: number): void {
    this.s.insertEndpoint.run({ id, url: input.url, streams: JSON.stringify(input.streams), types: input.types ? JSON.stringify(input.types) : null,
      filter: input.filter, description: input.description, secrets: JSON.stringify(secrets), enabled: input.enabled ? 1 : 0, origin, now });
  }

  updateEndpoint(id: string, e: Pick<StoredEndpoint, 'url' | 'streams' | 'types' | 'filter' | 'description' | 'secrets'>, now: number): void {
    this.s.updateEndpoint.run({ id, url: e.url, streams: JSON.stringify(e.streams), types: e.types ? JSON.stringify(e.types) : null,
      filter: e.filter, description: e.description, secrets: JSON.stringify(e.secrets), now });
  }

  setEnabled(id: string, enabled: boolean, reason: string | null, now: number): void {
    this.s.setEnabled.run(enabled ? 1 : 0, enabled ? null : reason, enabled ? null : now, enabled ? 1 : 0, now, id);
  }

  setFailingSince(id: string, since: number | null): void {
    this.s.setFailingSince.run(since, id);
  }

  setSecrets(id: string, secrets: StoredSecret[], now: number): void {
    this.s.setSecrets.run(JSON.stringify(secrets), now, id);
  }

  deleteEndpoint(id: string): void {
    this.db.transaction(() => {
      this.s.deleteEndpoint.run(id);
      this.subscriptions.drop(webhookOwner(id));
      this.s.deleteBodiesOf.run({ id });
      this.s.deleteMessages.run(id);
      this.s.deleteAttempts.run(id);
    })();
  }

  cursor(endpointId: string, stream: string): number | null {
    return this.subscriptions.cursor(webhookOwner(endpointId), stream);
  }

  setCursor(endpointId: string, stream: string, offset: number): void {
    this.subscriptions.commit(webhookOwner(endpointId), new Map([[stream, offset]]));
  }

  /** Adds messages and moves the cursors in one transaction; returns how many were (re)queued. */
  fanOut(endpointId: string, cursors: Map<string, number>, messages: NewMessage[], now: number): number {
    return this.fanOutTx(endpointId, cursors, messages, now);
  }

  due(endpointId: string, now: number, limit: number): DueMessage[] {
    return this.s.due.all(endpointId, now, limit) as DueMessage[];
  }

  /** Like due(), without the messages in `reserved` (read ahead or in flight already). */
  dueExcept(endpointId: string, now: number, limit: number, reserved: ReadonlySet<number>): DueMessage[] {
    const out: DueMessage[] = [];
    for (const id of this.s.dueIds.all(endpointId, now, limit) as number[]) {
      if (reserved.has(id)) continue;
      const row = this.s.dueById.get(id) as DueMessage | undefined;
      if (row) out.push(row);
    }
    return out;
  }

  nextDue(endpointId: string): number | null {
    return (this.s.nextDue.get(endpointId) as number | null) ?? null;
  }

  /** Records attempts and their consequences, many in one transaction. */
  settle(outcomes: Outcome[]): void {
    if (outcomes.length > 0) this.settleTx(outcomes);
  }

  private settleOne(o: Outcome): void {
    const status = o.result === 'delivered' ? 1 : o.result === 'dead' ? 2 : 0;
    const nextAt = o.result === 'retry' ? o.nextAt! : o.result === 'held' ? o.time : o.time;
    this.s.settle.run({ id: o.message.id, status, nextAt, statusCode: o.statusCode, error: o.error, time: o.time });
    this.s.insertAttempt.run({
      endpointId: o.endpointId, eventId: o.message.eventId, attempt: o.message.attempts + 1, time: o.time,
      statusCode: o.statusCode, latencyMs: o.latencyMs, error: o.error, responseBody: o.responseBody,
      nextRetryAt: o.result === 'retry' ? o.nextAt : null,
    });
    if (status !== 0 && o.message.key !== null) this.s.unblockNext.run({ time: o.time, endpointId: o.endpointId, key: o.message.key, id: o.message.id });
  }

  attempts(endpointId: string, options: { before?: number; limit: number; eventId?: string }): DeliveryAttempt[] {
    const rows = (options.eventId !== undefined
      ? this.s.attemptsOfEvent.all(endpointId, options.eventId, options.limit)
      : this.s.attempts.all(endpointId, options.before ?? Number.MAX_SAFE_INTEGER, options.limit)) as Array<Record<string, unknown>>;
    return rows.map((r) => ({
      id: r.id as number,
      eventId: r.event_id as string,
      attempt: r.attempt as number,
      time: iso(r.time as number)!,
      statusCode: r.status_code as number | null,
      latencyMs: r.latency_ms as number,
      error: r.error as string | null,
      responseBody: r.response_body as string | null,
      nextRetryAt: iso(r.next_retry_at as number | null),
    }));
  }

  messages(endpointId: string, status: MessageStatus, afterId: number, limit: number): WebhookMessage[] {
    return (this.s.messages.all(endpointId, STATUS.indexOf(status), afterId, limit) as Array<Record<string, unknown>>).map(toMessage);
  }

  message(endpointId: string, eventId: string): (WebhookMessage & { payload: string }) | null {
    const row = this.s.message.get(endpointId, eventId) as Record<string, unknown> | undefined;
    return row ? { ...toMessage(row), payload: row.payload as string } : null;
  }

  /** Makes a delivered or dead message pending again, due now. False when there is none, or it is pending already. */
  /** A pending message waiting for its next attempt is due now (its attempts so far still count). */
  sendNow(endpointId: string, eventId: string, now: number): boolean {
    return this.s.sendNow.run(now, now, endpointId, eventId, now).changes > 0;
  }

  retryMessage(endpointId: string, eventId: string, now: number): boolean {
    return this.s.retryMessage.run(now, now, endpointId, eventId).changes > 0;
  }

  counts(endpointId: string): Record<MessageStatus, number> {
    const out: Record<MessageStatus, number> = { pending: 0, delivered: 0, dead: 0 };
    for (const row of this.s.counts.all(endpointId) as Array<{ status: number; n: number }>) out[STATUS[row.status]!] = row.n;
    return out;
  }

  /** Forgets delivered messages and attempts older than `before`; pending and dead ones stay. */
  prune(before: number): number {
    return this.db.transaction(() => {
      // Ids grow with time: messages created since the cutoff, and every one after them, stay.
      const floor = (this.s.pruneFloor.get(before) as number | undefined) ?? 9e18;
      this.s.pruneBodies.run({ before, floor });
      return this.s.pruneMessages.run({ before, floor }).changes + this.s.pruneAttempts.run({ before }).changes;
    })();
  }
}

function toMessage(r: Record<string, unknown>): WebhookMessage {
  const nextAt = r.next_at as number;
  return {
    id: r.id as number,
    endpointId: r.endpoint_id as string,
    eventId: r.event_id as string,
    stream: r.stream as string,
    offset: r.offset as number,
    key: r.key as string | null,
    status: STATUS[r.status as number]!,
    attempts: r.attempts as number,
    nextAttemptAt: r.status === 0 && nextAt !== BLOCKED ? iso(nextAt) : null,
    lastStatusCode: r.last_status as number | null,
    lastError: r.last_error as string | null,
    createdAt: iso(r.created_at as number)!,
  };
}
