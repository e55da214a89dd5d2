import { BackpressureError } from '../sources/types.js';
import type { SubscriptionStore } from '../store/subscriptions.js';

/**
 * One follower of the log (a sink's dispatcher, a webhook endpoint's fan-out): an owner in the
 * subscription store, which holds back retention of the streams it follows and, past its
 * maxBacklog, holds back ingest.
 */
export interface Follower {
  /** Its owner name in the subscription store. */
  owner: string;
  /** How it is named in messages, e.g. `sink 'kafka'`. */
  label: string;
  /** The streams of the log it follows now (a follower of `*` follows new streams too). */
  streams(): readonly string[];
  /** Records not yet taken past which ingest is refused; Infinity never refuses. */
  maxBacklog: number;
  /** Records appended to its streams that it has not taken yet. */
  backlog(): number;
}

/** What connectors see: register a follower, get the function that unregisters it. */
export interface FollowerRegistry {
  register(follower: Follower): () => void;
}

/** Seconds a refused batch is told to wait. */
const RETRY_AFTER_S = 5;

/** Every follower of this process: backpressure and the retention floor come from them, whatever they are. */
export class Followers implements FollowerRegistry {
  private readonly followers = new Set<Follower>();

  constructor(private readonly subscriptions: Pick<SubscriptionStore, 'cursor'>) {}

  register(follower: Follower): () => void {
    this.followers.add(follower);
    return () => void this.followers.delete(follower);
  }

  /** Refuses a batch while any follower is too far behind, so a dead one cannot grow the store without bound. */
  checkBacklog(): void {
    for (const f of this.followers) {
      if (f.maxBacklog === Number.POSITIVE_INFINITY) continue;
      const backlog = f.backlog();
      if (backlog > f.maxBacklog) {
        throw new BackpressureError(`${f.label} is ${backlog} records behind (maxBacklog ${f.maxBacklog}); try again later`, RETRY_AFTER_S);
      }
    }
  }

  /**
   * The lowest cursor on `stream` among the followers of it (0 where one has not taken it yet):
   * records past it must stay. Infinity when nothing follows the stream.
   */
  floor(stream: string): number {
    let min = Number.POSITIVE_INFINITY;
    for (const f of this.followers) {
      if (f.streams().includes(stream)) min = Math.min(min, this.subscriptions.cursor(f.owner, stream) ?? 0);
    }
    return min;
  }
}
