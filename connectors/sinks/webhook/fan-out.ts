import type { CloudEvent, CompiledCel, Logger, LogReader, StreamRecord } from '../../../src/sdk/index.js';
import type { Clock } from './clock.js';
import { webhookEvent } from './event-body.js';
import type { NewMessage, StoredEndpoint, WebhookStore } from './store.js';
import type { WebhookEndpoint } from './types.js';
import { takesType } from './event-types.js';

const FAN_OUT_BATCH = 500;
export const FAN_OUT_SLICE = 5000;
const FILTER_ERROR_LOG_EVERY_MS = 30_000;

/** An endpoint as fan-out sees it: its compiled filter and when that filter last logged a failure. */
export interface FanOutTarget {
  endpoint: StoredEndpoint;
  filter: CompiledCel | null;
  filterErrorLoggedAt: number;
}

export const takes = (e: WebhookEndpoint, stream: string): boolean => e.streams.includes('*') || e.streams.includes(stream);

/**
 * Copies records of the log into each endpoint's outbox (one row per event and endpoint), for the
 * types and filter it asks for, and moves the endpoint's cursor past them in the same transaction.
 */
export class FanOut {
  constructor(
    private readonly log: LogReader,
    private readonly store: WebhookStore,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  /**
   * Moves enabled endpoints' cursors towards the end of their streams; at most `slice` records
   * per call, so a large backlog never holds the event loop for long. True when done, false when
   * there is more to do. `synced`: per stream, the last offset known to be on disk (lastOffsets()
   * taken before store.durable() resolved); records past it wait for a later turn.
   */
  run(targets: Iterable<FanOutTarget>, slice = FAN_OUT_SLICE, synced: ReadonlyMap<string, number> | null = null): boolean {
    let budget = slice;
    // Endpoints at the same place of a stream share one read of it, and each event's body.
    const reads = new Map<string, Candidate[]>();
    const read = (stream: string, after: number, limit: number): Candidate[] => {
      const at = `${stream}\n${after}\n${limit}`;
      let found = reads.get(at);
      if (!found) reads.set(at, (found = this.log.read(stream, after, limit).map(candidate)));
      return found;
    };
    for (const target of targets) {
      const { endpoint } = target;
      // A disabled endpoint's cursor waits: re-enabling it delivers what it missed.
      if (!endpoint.enabled) continue;
      for (const stream of this.streamsOf(endpoint)) {
        let after = this.store.cursor(endpoint.id, stream) ?? 0;
        const last = synced ? Math.min(synced.get(stream) ?? 0, this.log.lastOffset(stream)) : this.log.lastOffset(stream);
        while (after < last) {
          if (budget <= 0) return false;
          let records = read(stream, after, Math.min(FAN_OUT_BATCH, budget));
          if (records.length > 0 && records[records.length - 1]!.record.offset > last) records = records.filter((c) => c.record.offset <= last);
          if (records.length === 0) break;
          budget -= records.length;
          after = records[records.length - 1]!.record.offset;
          this.store.fanOut(endpoint.id, new Map([[stream, after]]), this.select(target, records), this.clock.now());
        }
      }
    }
    return true;
  }

  /** The last offset of each stream the enabled endpoints take, as the log has them now. */
  lastOffsets(targets: Iterable<FanOutTarget>): Map<string, number> {
    const out = new Map<string, number>();
    for (const { endpoint } of targets) {
      if (!endpoint.enabled) continue;
      for (const stream of this.streamsOf(endpoint)) if (!out.has(stream)) out.set(stream, this.log.lastOffset(stream));
    }
    return out;
  }

  /**
   * Queues the endpoint's events again from an offset of one stream, or from a time on all its
   * streams, up to what it has already been given (newer records come by the normal way).
   */
  replay(target: FanOutTarget, from: { offset: number; stream: string } | { timeMs: number }): number {
    const id = target.endpoint.id;
    const starts = new Map<string, number>();
    if ('offset' in from) {
      starts.set(from.stream, Math.max(0, from.offset - 1));
    } else {
      for (const stream of this.streamsOf(target.endpoint)) {
        const first = this.log.firstOffsetSince(stream, from.timeMs);
        if (first !== null) starts.set(stream, first - 1);
      }
    }
    let queued = 0;
    for (const [stream, start] of starts) {
      const end = this.store.cursor(id, stream) ?? 0;
      for (let after = start; after < end; ) {
        const records = this.log.read(stream, after, Math.min(FAN_OUT_BATCH, end - after));
        if (records.length === 0) break;
        after = records[records.length - 1]!.offset;
        queued += this.store.fanOut(id, new Map(), this.select(target, records.filter((r) => r.offset <= end).map(candidate)), this.clock.now());
      }
    }
    return queued;
  }

  /** The streams of the log an endpoint takes, by name. */
  streamsOf(e: WebhookEndpoint): string[] {
    return this.log.streamNames().filter((s) => takes(e, s)).sort();
  }

  private select(target: FanOutTarget, candidates: Candidate[]): NewMessage[] {
    const { endpoint } = target;
    const out: NewMessage[] = [];
    for (const c of candidates) {
      const { record, event } = c;
      if (!takesType(endpoint.types, event.type)) continue;
      if (target.filter) {
        let pass = false;
        try {
          pass = target.filter.evaluate({ event }) === true;
        } catch (err) {
          // A filter that cannot be evaluated on this event (a missing field) does not match it.
          const now = this.clock.now();
          if (now - target.filterErrorLoggedAt > FILTER_ERROR_LOG_EVERY_MS) {
            target.filterErrorLoggedAt = now;
            this.logger.warn('webhook filter failed on an event; the event is not delivered there', { webhook: endpoint.id, event: event.id, error: (err as Error).message });
          }
        }
        if (!pass) continue;
      }
      out.push({ eventId: event.id, stream: record.stream, offset: record.offset, key: record.key ?? event.subject ?? null, payload: (c.payload ??= JSON.stringify(event)) });
    }
    return out;
  }
}

/** A record of the log as a webhook event; its body is serialized once, by the first endpoint that takes it. */
interface Candidate {
  record: StreamRecord;
  event: CloudEvent;
  payload: string | null;
}

const candidate = (record: StreamRecord): Candidate => ({ record, event: webhookEvent(record), payload: null });
