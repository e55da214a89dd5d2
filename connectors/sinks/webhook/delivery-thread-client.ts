import type { Worker } from 'node:worker_threads';
import { startThread, type Logger } from '../../../src/sdk/index.js';
import type { ClientOptions, Poster } from './http-client.js';
import type { PostResult } from './outcome.js';
import { RESULT_FIELDS, type ThreadReply, type ThreadRequest } from './delivery-wire.js';
// Type-only: it makes every build that compiles this file compile the thread's entry.
import type {} from './delivery-thread.js';
/** A thread that dies sooner than this after it started is not started again before this long. */
const RESTART_MS = 1_000;

interface Waiter {
  resolve: (result: PostResult) => void;
  reject: (err: Error) => void;
}

/**
 * The main thread's side of the delivery thread (delivery-thread.ts), shared by every endpoint:
 * each `connect()` is one endpoint's client there. Posts made in the same turn of the event loop
 * cross in one message; outcomes come back likewise. The thread starts with the first post. When it
 * dies, the posts in flight reject (the scheduler sends them again: at least once) and the next
 * post starts a new thread, with its clients opened again.
 */
export class DeliveryThread {
  private worker: Worker | null = null;
  private startedAt = 0;
  private restartTimer: NodeJS.Timeout | null = null;
  private nextId = 1;
  /** Open clients and their options: a new thread opens them all again. */
  private readonly open = new Map<number, ClientOptions>();
  private readonly waiting = new Map<number, Waiter>();
  private readonly closing = new Map<number, () => void>();
  private outbox: ThreadRequest = { opens: [], closes: [], posts: [] };
  private flushQueued = false;

  constructor(private readonly logger: Logger) {}

  connect(options: ClientOptions): Poster {
    const client = this.nextId++;
    this.open.set(client, options);
    if (this.worker) this.queue().opens.push({ client, options });
    let closed: Promise<void> | null = null;
    const post = (url: URL, fields: unknown[]) => new Promise<PostResult>((resolve, reject) => {
      if (!this.open.has(client)) return resolve({ kind: 'network-error', error: "the endpoint's HTTP client is closed", latencyMs: 0 });
      const id = this.nextId++;
      this.waiting.set(id, { resolve, reject });
      if (this.waiting.size === 1) this.worker?.ref();
      this.queue().posts.push(id, client, url.href, ...fields);
    });
    return {
      post: (url, headers, body) => post(url, [body, null, null, headers]),
      postSigned: (url, signing, body) => post(url, [body, signing.eventId, signing.timestampSeconds, signing.secrets]),
      close: () => (closed ??= this.closeClient(client)),
    };
  }

  /**
   * Starts the thread ahead of the first post (the service's start, when it has an endpoint), so
   * that its start-up (bench f: 100-350 ms at load 2-5) runs beside the first fan-out, not after it.
   */
  warm(): void {
    if (!this.worker && !this.restartTimer) this.start();
  }

  /** Ends the thread (stop); posts still in flight reject. A later post would start a new one. */
  async close(): Promise<void> {
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    const worker = this.worker;
    this.worker = null;
    this.failInFlight(new Error('the webhook delivery thread was stopped'));
    if (worker) await worker.terminate();
  }

  /** Ends the thread as a crash would (tests): its posts in flight reject; the next post starts a new one. */
  async terminate(): Promise<void> {
    await this.worker?.terminate();
  }

  private closeClient(client: number): Promise<void> {
    this.open.delete(client);
    if (!this.worker) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.closing.set(client, resolve);
      this.queue().closes.push(client);
    });
  }

  /** The message being gathered this turn; sent once the turn's synchronous work is done. */
  private queue(): ThreadRequest {
    if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(() => this.flush());
    }
    return this.outbox;
  }

  private flush(): void {
    this.flushQueued = false;
    const worker = this.worker ?? this.start();
    // Waiting out a restart: the posts stay in the outbox until the new thread is up.
    if (!worker) return;
    worker.postMessage(this.outbox);
    this.outbox = { opens: [], closes: [], posts: [] };
  }

  private start(): Worker | null {
    const wait = this.startedAt + RESTART_MS - Date.now();
    if (this.startedAt > 0 && wait > 0) {
      this.restartTimer ??= setTimeout(() => {
        this.restartTimer = null;
        this.startedAt = 0;
        this.flush();
      }, wait);
      return null;
    }
    const worker = startThread(import.meta.url, 'delivery-thread', {});
    this.worker = worker;
    this.startedAt = Date.now();
    // A new thread opens every client again, ahead of the posts waiting for it.
    this.outbox.opens = [...this.open].map(([client, options]) => ({ client, options }));
    worker.on('message', (reply: ThreadReply) => this.answered(reply));
    const died = (why: string) => {
      if (this.worker !== worker) return;
      this.worker = null;
      const n = this.waiting.size;
      this.logger.error('the webhook delivery thread failed; its deliveries in flight will be sent again', { error: why, inFlight: n });
      this.failInFlight(new Error(why));
    };
    worker.on('error', (err) => died(err.message));
    worker.on('exit', (code) => died(`the webhook delivery thread exited (code ${code})`));
    // Idle, the thread does not keep the process alive (a service never stopped); see connect's post.
    if (this.waiting.size === 0) worker.unref();
    return worker;
  }

  private answered(reply: ThreadReply): void {
    const r = reply.results;
    for (let i = 0; i < r.length; i += RESULT_FIELDS) {
      const id = r[i] as number;
      const waiter = this.waiting.get(id);
      if (!waiter) continue;
      this.waiting.delete(id);
      waiter.resolve(resultOf(r, i));
    }
    if (this.waiting.size === 0) this.worker?.unref();
    for (const client of reply.closed) {
      this.closing.get(client)?.();
      this.closing.delete(client);
    }
  }

  private failInFlight(err: Error): void {
    // Posts not sent yet belong to the waiters rejected here (sent again by the scheduler).
    this.outbox.posts = [];
    this.outbox.closes = [];
    const waiting = [...this.waiting.values()];
    this.waiting.clear();
    for (const w of waiting) w.reject(err);
    for (const resolve of this.closing.values()) resolve();
    this.closing.clear();
  }
}

function resultOf(r: unknown[], i: number): PostResult {
  const kind = r[i + 1] as PostResult['kind'];
  const latencyMs = r[i + 3] as number;
  switch (kind) {
    case 'delivered':
      return { kind, status: r[i + 2] as number, latencyMs, responseBody: r[i + 4] as string };
    case 'failed-status':
      return { kind, status: r[i + 2] as number, latencyMs, responseBody: r[i + 4] as string, retryAfter: r[i + 5] as string | null };
    case 'timeout':
      return { kind, latencyMs };
    case 'network-error':
    case 'address-refused':
      return { kind, latencyMs, error: r[i + 4] as string };
  }
}
