/**
 * Posts batches of Kong logs the way a gateway's http-log plugin behind a load balancer does:
 * several posters at once, round robin over the instances, and a batch that failed (connection
 * error, 503) sent again to the next instance, after its Retry-After. A batch is acknowledged when
 * an instance answered 200; every answer is recorded for the test to check.
 */
export interface Answer {
  batch: number;
  target: string;
  /** HTTP status, or 0 when the request failed without one (connection refused or reset). */
  status: number;
  retryAfter: string | null;
  at: number;
  /** How long the attempt took. */
  ms: number;
  error?: string;
}

export interface PosterOptions {
  /** Posters running at once. */
  concurrency: number;
  /** Longest wait for a Retry-After (seconds are what the instance asks for; a gateway caps it). */
  maxRetryWaitMs?: number;
  /** Pause of each poster between its batches: a gateway flushes its log queue now and then, not in a loop. */
  pauseMs?: number;
  /** Gives up on a batch after this long (then `done` rejects). */
  batchTimeoutMs?: number;
}

export class GatewayPosters {
  readonly answers: Answer[] = [];
  /** Indexes of acknowledged batches, in the order they were acknowledged. */
  readonly acknowledged: number[] = [];
  private next = 0;
  private rr = 0;
  private stopped = false;
  readonly done: Promise<void>;

  /** `targets()` is asked before every attempt, so instances can be added while posting. */
  constructor(private readonly batches: unknown[][], private readonly targets: () => string[], private readonly opts: PosterOptions) {
    this.done = Promise.all(Array.from({ length: opts.concurrency }, () => this.poster())).then(() => undefined);
  }

  /** Resolves once at least `n` batches were acknowledged. */
  async acknowledgedAtLeast(n: number, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.acknowledged.length < n) {
      if (Date.now() > deadline) throw new Error(`only ${this.acknowledged.length} of ${n} batches acknowledged after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Stops taking new batches (batches being sent are finished). */
  stop(): void {
    this.stopped = true;
  }

  private async poster(): Promise<void> {
    while (!this.stopped && this.next < this.batches.length) {
      const index = this.next++;
      await this.send(index);
      if (this.opts.pauseMs) await new Promise((r) => setTimeout(r, this.opts.pauseMs));
    }
  }

  private async send(index: number): Promise<void> {
    const body = JSON.stringify(this.batches[index]);
    const deadline = Date.now() + (this.opts.batchTimeoutMs ?? 60_000);
    for (;;) {
      const targets = this.targets();
      const target = targets[this.rr++ % targets.length]!;
      let wait = 50;
      const sent = Date.now();
      try {
        const res = await fetch(`${target}/ingest/kong`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
        const text = await res.text();
        const retryAfter = res.headers.get('retry-after');
        this.answers.push({ batch: index, target, status: res.status, retryAfter, at: Date.now(), ms: Date.now() - sent, ...(res.status === 200 ? {} : { error: text.slice(0, 300) }) });
        if (res.status === 200) {
          this.acknowledged.push(index);
          return;
        }
        if (res.status === 503 && retryAfter !== null) wait = Math.min(Number(retryAfter) * 1000, this.opts.maxRetryWaitMs ?? 5_000);
      } catch (e) {
        this.answers.push({ batch: index, target, status: 0, retryAfter: null, at: Date.now(), ms: Date.now() - sent, error: String((e as Error).cause ?? e) });
      }
      if (Date.now() > deadline) throw new Error(`batch ${index} not acknowledged within ${this.opts.batchTimeoutMs ?? 60_000} ms; last answers: ${JSON.stringify(this.answers.filter((a) => a.batch === index).slice(-3))}`);
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}
