type Listener = () => void;

/**
 * What undici takes as a request's `signal` (it accepts an EventEmitter-like object): aborted once
 * its deadline passes, which undici reports as an AbortError (the client's "timed out").
 */
export class DeadlineSignal {
  aborted = false;
  /** Set by the request's owner once it no longer needs a deadline. */
  done = false;
  private listeners: Listener[] = [];

  constructor(readonly at: number) {}

  on(_event: 'abort', listener: Listener): this {
    this.listeners.push(listener);
    return this;
  }

  once(event: 'abort', listener: Listener): this {
    return this.on(event, listener);
  }

  addListener(event: 'abort', listener: Listener): this {
    return this.on(event, listener);
  }

  removeListener(_event: 'abort', listener: Listener): this {
    this.listeners = this.listeners.filter((l) => l !== listener);
    return this;
  }

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    for (const l of this.listeners.splice(0)) l();
  }
}

/**
 * A total time limit per request of one client, cheaper than AbortSignal.timeout, which costs a
 * timer, a weak reference and a finalizer per request (bench f, 50 endpoints: 12-20 µs of CPU per
 * delivery, a good part of it in the garbage collector). All requests of a client share one limit,
 * so their deadlines come in the order they started: one timer watches the oldest unfinished one.
 */
export class RequestDeadlines {
  private queue: DeadlineSignal[] = [];
  private head = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly ms: number, private readonly now: () => number = () => performance.now()) {}

  /** A signal that aborts `ms` from now unless finish() is called first. */
  start(): DeadlineSignal {
    const signal = new DeadlineSignal(this.now() + this.ms);
    this.queue.push(signal);
    if (this.timer === null) this.arm();
    return signal;
  }

  finish(signal: DeadlineSignal): void {
    signal.done = true;
    // Requests mostly end in the order they started: finished ones leave from the front.
    while (this.head < this.queue.length && this.queue[this.head]!.done) this.head++;
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  /** Aborts nothing more; the signals handed out stay as they are. */
  close(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private arm(): void {
    const next = this.queue[this.head];
    if (!next) return;
    this.timer = setTimeout(() => this.fire(), Math.max(1, Math.ceil(next.at - this.now())));
    // A pending deadline alone does not keep the process alive.
    this.timer.unref();
  }

  private fire(): void {
    this.timer = null;
    const now = this.now();
    while (this.head < this.queue.length && (this.queue[this.head]!.done || this.queue[this.head]!.at <= now)) {
      const signal = this.queue[this.head++]!;
      if (!signal.done) signal.abort();
    }
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    }
    this.arm();
  }
}
