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
  /** Exchanges decoded on the main thread, or a payload an ingest worker decoded (decoded again here on demand). */
  exchanges: Exchange[] | null;
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
  /**
   * Exchanges decoded on the main thread held, all batches together. Their size is not known
   * without walking them (bodies are parsed), so few: a pulled source's batch can be thousands of
   * exchanges with bodies of megabytes each.
   */
  entries: number;
}

export const DEFAULT_RECENT_LIMITS: RecentLimits = { batches: 64, bytes: 8 * 1024 * 1024, entries: 16 };

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
  /** Batches seen: one refused for backpressure is committed again, the same array (weak: holds nothing). */
  private readonly seen = new WeakSet<DecodedEntry[]>();

  constructor(private readonly limits: RecentLimits = DEFAULT_RECENT_LIMITS) {}

  addEntries(source: string, entries: DecodedEntry[]): void {
    // A batch refused for backpressure is committed again, the same array.
    if (this.seen.has(entries)) return;
    this.seen.add(entries);
    // Only the last ones, and neither the batch's own array nor the raw entries, which would keep all of it alive.
    const exchanges: Exchange[] = [];
    for (let i = Math.max(0, entries.length - this.limits.entries); i < entries.length; i++) {
      const entry = entries[i]!;
      if (entry.ok) exchanges.push(entry.exchange);
    }
    this.push({ source, exchanges, payload: null, bytes: 0, count: exchanges.length });
  }

  /**
   * Before the payload goes to an ingest worker: bytes are transferred to the worker (their buffer
   * is emptied here), so a copy is kept (a memcpy per batch: 35 µs for 250 KiB, measured).
   */
  addPayload(source: string, format: LogFormat, payload: string | Uint8Array, options: DecodeOptions): void {
    const text = typeof payload === 'string' ? payload : Uint8Array.prototype.slice.call(payload);
    this.push({ source, exchanges: null, payload: { format, text, options }, bytes: text.length, count: 0 });
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
      const exchanges = item.exchanges ?? decodeQuietly(item);
      for (let j = exchanges.length - 1; j >= 0; j--) yield { source: item.source, exchange: exchanges[j]! };
    }
  }
}

/** A held payload was decoded once already (on a worker): it decodes again, and a failure means no exchanges. */
function decodeQuietly(item: Held): Exchange[] {
  const { format, text, options } = item.payload!;
  try {
    return format.decode(typeof text === 'string' ? text : utf8(text), options).flatMap((e) => (e.ok ? [e.exchange] : []));
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
