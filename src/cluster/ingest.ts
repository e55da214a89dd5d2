import { CODES } from '../codes.js';
import type { Diagnostic } from '../model/diagnostic.js';
import type { Exchange } from '../model/exchange.js';
import type { RuleLimits } from '../rules/budget.js';
import { BackpressureError, type DecodedEntry } from '../sources/types.js';
import type { CompiledSpecSet } from '../spec/types.js';
import type { BatchResult, DeadLetter, EntryOutcome, EventStore } from '../store/types.js';
import { internalFailure, outcomeOf, toEntry } from '../pipeline/entry-outcome.js';
import { dedupeKeyOf, requestKeyOf, type IngestOptions } from '../pipeline/ingest.js';
import type { PreparedBatch } from '../pipeline/prepared.js';
import { processExchange } from '../pipeline/process.js';
import { routeExchange } from './route.js';
import type { ClusterEngine, ExchangeMessage } from './types.js';

/**
 * Ingest in cluster mode: the stateless half where the log arrived. Each exchange is routed, keyed
 * and produced to the exchanges topic; the batch is answered once the brokers acknowledged all of
 * it (acks=all), else 503 with Retry-After and nothing of it is acknowledged. What never reaches the
 * topic (entries that cannot be read, exchanges that match no operation) is kept in the local store,
 * as in single-node mode, together with a pulled source's checkpoint, after the publish.
 */
export class ClusterIngestor {
  private stopping = false;

  constructor(
    private readonly engine: Pick<ClusterEngine, 'publish'>,
    private readonly store: EventStore,
    private readonly specs: CompiledSpecSet,
    private readonly options: { jsonDepth?: number; rules: RuleLimits },
  ) {}

  async ingest(input: DecodedEntry[] | Promise<PreparedBatch>, options: IngestOptions): Promise<BatchResult> {
    if (this.stopping) throw new BackpressureError('reflex is stopping; nothing of this batch was stored, send it again', 1);
    // Ingest workers are not started in cluster mode: the entries come decoded.
    const entries = await (input as DecodedEntry[] | Promise<DecodedEntry[]>);
    const messages: ExchangeMessage[] = [];
    const local: EntryOutcome[] = [];
    for (const entry of entries) {
      if (!entry.ok) {
        local.push(outcomeOf(entry, entry.requestKey, entry.requestKey, options.source, this.specs, this.options) as EntryOutcome);
        continue;
      }
      const exchange = entry.exchange;
      const requestKey = requestKeyOf(exchange);
      // Synchronous unless a resource key needs an async rule: no microtask per entry otherwise.
      const pending = routeExchange(exchange, this.specs, this.options.rules);
      const routed = pending instanceof Promise ? await pending : pending;
      if (routed.kind === 'unmatched') {
        local.push(toEntry(routed, exchange, requestKey, dedupeKeyOf(exchange, requestKey), options.source));
        continue;
      }
      messages.push({ key: routed.key ?? requestKey, value: JSON.stringify(exchange), requestKey, source: options.source });
    }
    if (messages.length > 0) await this.engine.publish(messages);
    if (local.length === 0 && !options.checkpoint) return { ...emptyResult(), accepted: messages.length };
    const result = this.store.commit({ entries: local, ...(options.checkpoint ? { checkpoint: options.checkpoint } : {}) });
    await this.store.durable?.();
    result.accepted += messages.length;
    return result;
  }

  /**
   * A dead letter (kept by this instance while it owned the exchange's partition) is checked against
   * the rules loaded now, then produced again, marked so that its owner does not drop it as a
   * duplicate; the dead letter goes once the brokers have it.
   */
  async retry(dl: DeadLetter): Promise<{ ok: true; result: BatchResult } | { ok: false; diagnostic: Diagnostic }> {
    const rec = dl.record as Partial<Exchange> | null;
    if (!rec || typeof rec.request?.method !== 'string' || typeof rec.response?.status !== 'number') {
      return { ok: false, diagnostic: { code: CODES.retryUnreadable, severity: 'error', message: `dead letter ${dl.id} holds a log entry that could not be read (${dl.diagnostic.code}); correct it and send it again` } };
    }
    const exchange = structuredClone(rec) as Exchange;
    let outcome;
    try {
      outcome = await processExchange(structuredClone(exchange), this.specs, dl.requestKey, this.options.rules);
    } catch (err) {
      outcome = internalFailure(err);
    }
    if (outcome.kind === 'failed') return { ok: false, diagnostic: outcome.diagnostic };
    const routed = await routeExchange(exchange, this.specs, this.options.rules);
    const key = routed.kind === 'routed' ? routed.key ?? dl.requestKey : dl.requestKey;
    await this.engine.publish([{ key, value: JSON.stringify(exchange), requestKey: dl.requestKey, source: dl.source, retry: true }]);
    const result = this.store.commit({ entries: [{ requestKey: `retry|${dl.id}|${Date.now()}`, records: [], retryOf: dl.id }] });
    return { ok: true, result: { ...result, records: outcome.kind === 'records' ? outcome.records.length : 0 } };
  }

  stop(): void {
    this.stopping = true;
  }
}

function emptyResult(): BatchResult {
  return { accepted: 0, duplicates: 0, records: 0, deadLetters: 0, unmatched: 0, appended: new Map() };
}
