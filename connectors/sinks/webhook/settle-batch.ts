import type { Clock } from './clock.js';

/**
 * Gathers outcomes and hands them over together, at most `delayMs` after the first or at once when
 * `size` are waiting: one store transaction (one fsync) for many deliveries.
 */
export class SettleBatch<T> {
  private readonly waiting: T[] = [];
  private timer: unknown = null;

  constructor(
    private readonly clock: Clock,
    private readonly options: { size: number; delayMs: number },
    /** Records the batch; called with one or more items. */
    private readonly settle: (batch: T[]) => void,
  ) {}

  add(item: T): void {
    this.waiting.push(item);
    if (this.waiting.length >= this.options.size) {
      this.flush();
      return;
    }
    if (this.timer !== null) return;
    this.timer = this.clock.setTimeout(() => {
      this.timer = null;
      this.flush();
    }, this.options.delayMs);
  }

  /** Hands over whatever is waiting now (also on stop). */
  flush(): void {
    if (this.waiting.length === 0) return;
    this.settle(this.waiting.splice(0));
  }

  get size(): number {
    return this.waiting.length;
  }
}
