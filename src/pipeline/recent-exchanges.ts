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
  /** The array ingest was handed (to know it again when a refused batch is committed again). */
  batch: DecodedEntry[] | null;
  /** Entries decoded on the main thread, or a payload an ingest worker decoded (decoded again here on demand). */
  entries: DecodedEntry[] | null;
  payload: { format: LogFormat; text: string | Uint8Array; options: DecodeOptions } | null;
  bytes: number;
  /** Decoded entries held (a payload's are not counted: its bytes bound it). */
  count: number;
}

export interface RecentLimits {
  /** Batches held. */
  batches: number;
  /** Payload bytes held, all batches together. */
  bytes: number;
  /** Decoded entries held (a pulled source's batch can be thousands of parsed exchanges). */
  entries: number;
}

export const DEFAULT_RECENT_LIMITS: RecentLimits = { batches: 64, bytes: 8 * 1024 * 1024, entries: 1000 };

/**
 * The last few ingested batches, kept in memory for the console (an event's exchange, the
 * playground's picks). The store keeps no exchanges, so this is the only place they are. Ingest only
 * pushes a reference per batch; decoding a worker's payload again, redacting and matching happen
 * when the console asks.
 */
export class RecentExchanges {
  private held: Held[] = [];
  private bytes = 0;
  private count = 0;

  constructor(private readonly limits: RecentLimits = DEFAULT_RECENT_LIMITS) {}

  addEntries(source: string, entries: DecodedEntry[]): void {
    // A batch refused for backpressure is committed again, the same array.
    if (this.held.length > 0 && this.held[this.held.length - 1]!.batch === entries) return;
    const kept = entries.length > this.limits.entries ? entries.slice(-this.limits.entries) : entries;
    this.push({ source, batch: entries, entries: kept, payload: null, bytes: 0, count: kept.length });
  }

  /**
   * Before the payload goes to an ingest worker: bytes are transferred to the worker (their buffer
   * is emptied here), so a copy is kept (a memcpy per batch, ~0.1 µs per KB).
   */
  addPayload(source: string, format: LogFormat, payload: string | Uint8Array, options: DecodeOptions): void {
    const text = typeof payload === 'string' ? payload : Uint8Array.prototype.slice.call(payload);
    this.push({ source, batch: null, entries: null, payload: { format, text, options }, bytes: text.length, count: 0 });
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
    this.count += item.count;
    const { batches, bytes, entries } = this.limits;
    while (this.held.length > batches || (this.held.length > 1 && (this.bytes > bytes || this.count > entries))) {
      const dropped = this.held.shift()!;
      this.bytes -= dropped.bytes;
      this.count -= dropped.count;
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
