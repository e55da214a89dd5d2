import Database from 'better-sqlite3';
import { afterEach, beforeEach, vi } from 'vitest';
import { createLogger } from '../../src/logger.js';
import type { StreamRecord } from '../../src/model/records.js';
import type { PostResult } from '../../connectors/sinks/webhook/outcome.js';
import { WebhookService } from '../../connectors/sinks/webhook/service.js';
import { DEFAULT_WEBHOOK_SETTINGS, type WebhookSettings } from '../../src/config/webhook-settings.js';
import type { LogReader } from '../../src/sinks/connector.js';
import type { StoreDatabase } from '../../src/store/database.js';
import { SUBSCRIPTIONS_SQL } from '../../src/store/migrations/subscriptions.js';
import { SqliteSubscriptions } from '../../src/store/subscriptions.js';

/** The store's subscriptions over an in-memory database (the webhook outbox's cursors live there). */
export function memorySubscriptions(db: Database.Database): SqliteSubscriptions {
  db.exec(SUBSCRIPTIONS_SQL);
  return new SqliteSubscriptions({ db, path: ':memory:', transaction: <R>(fn: () => R) => db.transaction(fn)() } as unknown as StoreDatabase);
}

/** An in-memory event log with one stream, `orders`. */
class MemoryLog implements LogReader {
  readonly db = new Database(':memory:');
  readonly records: StreamRecord[] = [];
  private readonly listeners = new Set<(appended: Map<string, number>) => void>();

  append(key: string, n: number): void {
    const offset = this.records.length + 1;
    this.records.push({
      stream: 'orders', offset, key,
      value: { specversion: '1.0', id: `evt-${offset}`, source: 'test', type: 'com.shop.OrderUpdated', subject: key, time: new Date(Date.now()).toISOString(), data: { n } },
    });
    for (const l of this.listeners) l(new Map([['orders', offset]]));
  }

  read(stream: string, afterOffset: number, limit: number): StreamRecord[] {
    return stream === 'orders' ? this.records.slice(afterOffset, afterOffset + limit) : [];
  }
  lastOffset(): number {
    return this.records.length;
  }
  firstOffsetSince(): number | null {
    return this.records.length > 0 ? 1 : null;
  }
  streamNames(): string[] {
    return ['orders'];
  }
  hasStream(stream: string): boolean {
    return stream === 'orders';
  }
  onAppend(listener: (appended: Map<string, number>) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

export interface SentRequest {
  /** Fake-clock time the request left. */
  at: number;
  headers: Record<string, string>;
  body: string;
  event: { id: string; subject: string; data: { n: number } };
}

export const OK: PostResult = { kind: 'delivered', status: 204, latencyMs: 1, responseBody: '' };
export const status = (code: number, retryAfter: string | null = null): PostResult =>
  ({ kind: 'failed-status', status: code, retryAfter, latencyMs: 1, responseBody: '' });

/**
 * A webhook service on an in-memory log and store whose endpoints answer as `answer` says, no
 * network. Call with `vi.useFakeTimers()` on: time moves only with `vi.advanceTimersByTimeAsync`.
 */
export function deliveryHarness(options: { settings?: Partial<WebhookSettings>; answer?: (request: SentRequest, n: number) => PostResult; random?: () => number; durable?: () => Promise<void> } = {}) {
  const log = new MemoryLog();
  const sent: SentRequest[] = [];
  const lines: string[] = [];
  const answer = options.answer ?? (() => OK);
  const service = new WebhookService({ log, database: log.db, subscriptions: memorySubscriptions(log.db), ...(options.durable ? { durable: options.durable } : {}) }, { ...DEFAULT_WEBHOOK_SETTINGS, allowPrivateAddresses: true, ...options.settings }, createLogger({ write: (l) => lines.push(l) }), {
    random: options.random ?? (() => 0.5),
    connect: () => ({
      post: async (_url, headers, body) => {
        const request = { at: Date.now(), headers, body, event: JSON.parse(body) };
        sent.push(request);
        return answer(request, sent.length - 1);
      },
      close: async () => {},
    }),
  });
  return { service, log, sent, lines };
}

/** Fake timers for the file's tests (time moves only with `tick`), from a fixed date. */
export function useFakeClock(): void {
  beforeEach(() => {
    vi.useFakeTimers({ now: Date.parse('2026-11-03T08:00:00Z'), toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'Date'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });
}

export const tick = (ms: number): Promise<unknown> => vi.advanceTimersByTimeAsync(ms);
