import type { Exchange } from '../model/exchange.js';
import type { DecodedEntry, DecodeOptions, LogFormat } from '../sources/types.js';
import { utf8 } from '../sources/utf8.js';
import type { CompiledSpecSet } from '../spec/types.js';
import { matchExchange } from './process.js';

/** What the console reads back: the exchange redacted and matched as the rules saw it, and where it came from. */
export interface RecentExchange {
  source: string;
  exchange: Exchange;
}

interface Held {
  source: string;
  /** Entries decoded on the main thread, or a payload an ingest worker decoded (decoded again here on demand). */
  entries: DecodedEntry[] | null;
  payload: { format: LogFormat; text: string | Uint8Array; options: DecodeOptions } | null;
  bytes: number;
}

export interface RecentLimits {
  /** Batches held. */
  batches: number;
  /** Payload bytes held, all batches together. */
  bytes: number;
}

export const DEFAULT_RECENT_LIMITS: RecentLimits = { batches: 64, bytes: 8 * 1024 * 1024 };

/**
 * The last few ingested batches, kept in memory for the console (an event's exchange, the
 * playground's picks). The store keeps no exchanges, so this is the only place they are. Ingest only
 * pushes a reference per batch; decoding a worker's payload again, redacting and matching happen
 * when the console asks.
 */
export class RecentExchanges {
  private held: Held[] = [];
  private bytes = 0;

  constructor(private readonly limits: RecentLimits = DEFAULT_RECENT_LIMITS) {}

  addEntries(source: string, entries: DecodedEntry[]): void {
    // A batch refused for backpressure is committed again, the same array.
    if (this.held[this.held.length - 1]?.entries === entries) return;
    this.push({ source, entries, payload: null, bytes: 0 });
  }

  /**
   * Before the payload goes to an ingest worker: bytes are transferred to the worker (their buffer
   * is emptied here), so a copy is kept (a memcpy per batch, ~0.1 µs per KB).
   */
  addPayload(source: string, format: LogFormat, payload: string | Uint8Array, options: DecodeOptions): void {
    const text = typeof payload === 'string' ? payload : Uint8Array.prototype.slice.call(payload);
    this.push({ source, entries: null, payload: { format, text, options }, bytes: text.length });
  }

  /** Newest first, at most `limit`, redacted and matched with `specs`. */
  list(specs: CompiledSpecSet, limit: number): RecentExchange[] {
    const out: RecentExchange[] = [];
    for (const { source, exchange } of this.newestFirst()) {
      if (out.length >= limit) break;
      out.push({ source, exchange: seenByRules(exchange, specs) });
    }
    return out;
  }

  /** The newest held exchange with this request id (`request.id`, what an event's `reflexrequestid` says). */
  find(specs: CompiledSpecSet, requestId: string): RecentExchange | null {
    for (const { source, exchange } of this.newestFirst()) {
      if (exchange.request.id === requestId) return { source, exchange: seenByRules(exchange, specs) };
    }
    return null;
  }

  private push(item: Held): void {
    this.held.push(item);
    this.bytes += item.bytes;
    while (this.held.length > this.limits.batches || (this.bytes > this.limits.bytes && this.held.length > 1)) {
      this.bytes -= this.held.shift()!.bytes;
    }
  }

  private *newestFirst(): Generator<{ source: string; exchange: Exchange }> {
    for (let i = this.held.length - 1; i >= 0; i--) {
      const item = this.held[i]!;
      const entries = item.entries ?? decodeQuietly(item);
      for (let j = entries.length - 1; j >= 0; j--) {
        const entry = entries[j]!;
        if (entry.ok) yield { source: item.source, exchange: entry.exchange };
      }
    }
  }
}

/** A held payload was decoded once already (on a worker): it decodes again, and a failure means no entries. */
function decodeQuietly(item: Held): DecodedEntry[] {
  const { format, text, options } = item.payload!;
  try {
    return format.decode(typeof text === 'string' ? text : utf8(text), options);
  } catch {
    return [];
  }
}

/** A copy (ingest may still be processing the held object), redacted and matched as the pipeline does. */
function seenByRules(exchange: Exchange, specs: CompiledSpecSet): Exchange {
  const copy = structuredClone(exchange);
  matchExchange(copy, specs);
  return copy;
}
