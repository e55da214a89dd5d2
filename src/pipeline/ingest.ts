import type { Exchange } from '../model/exchange.js';
import type { DecodedEntry } from '../sources/types.js';
import type { CompiledSpecSet } from '../spec/types.js';
import type { BatchResult, DeadLetter, EntryOutcome, EventStore } from '../store/types.js';
import type { Diagnostic } from '../model/diagnostic.js';
import type { CdcApplier } from '../cdc/applier.js';
import { decide } from '../cdc/decide.js';
import { processExchange, type Outcome } from './process.js';

export interface IngestOptions {
  /** Name of the source, kept with dead letters. */
  source: string;
  /** Committed in the same transaction as the batch (pulled sources). */
  checkpoint?: { source: string; value: string };
  collect?: boolean;
}

export function requestKeyOf(exchange: Exchange): string {
  return `${exchange.gateway.kind}:${exchange.request.id}`;
}

/**
 * The key a log entry is remembered by in the dedupe window: its request time first, so that the
 * store's dedupe index grows at its end like a log (random request ids alone scatter every batch
 * over the whole index, which made it the most expensive write of ingest). A re-sent entry carries
 * the same time and id, so it still finds itself.
 */
export function dedupeKeyOf(exchange: Exchange, requestKey: string): string {
  const ms = Date.parse(exchange.request.time);
  return `${Number.isFinite(ms) ? ms.toString(36).padStart(9, '0') : '?'}|${requestKey}`;
}

/**
 * Turns decoded log entries into one store transaction. Batches are applied one at a time, in
 * arrival order, so offsets follow arrival and a re-sent batch racing its original is still dropped.
 */
export class Ingestor {
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: EventStore,
    private readonly specs: CompiledSpecSet,
    /** Without a reorder window, changes apply right after the batch, before it is acknowledged. */
    private readonly cdc: CdcApplier | null = null,
  ) {}

  ingest(entries: DecodedEntry[], options: IngestOptions): Promise<BatchResult> {
    const run = this.tail.then(() => this.apply(entries, options));
    this.tail = run.catch(() => undefined);
    return run;
  }

  /**
   * Processes a dead letter again with the rules loaded now (after a fixed spec, say). Its records
   * and the removal of the dead letter commit together; if it fails again, it stays.
   */
  retry(deadLetter: DeadLetter): Promise<{ ok: true; result: BatchResult } | { ok: false; diagnostic: Diagnostic }> {
    const run = this.tail.then(() => this.applyRetry(deadLetter));
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async applyRetry(dl: DeadLetter): Promise<{ ok: true; result: BatchResult } | { ok: false; diagnostic: Diagnostic }> {
    const rec = dl.record as Partial<Exchange> | null;
    if (!rec || typeof rec.request?.method !== 'string' || typeof rec.response?.status !== 'number') {
      return {
        ok: false,
        diagnostic: { code: 'RX410', severity: 'error', message: `dead letter ${dl.id} holds a log entry that could not be read (${dl.diagnostic.code}); correct it and send it again` },
      };
    }
    const exchange = structuredClone(rec) as Exchange;
    exchange.request.route = null;
    exchange.request.params = {};
    exchange.operation = null;
    let outcome: Outcome;
    try {
      outcome = await processExchange(exchange, this.specs, dl.requestKey);
    } catch (err) {
      outcome = internalFailure(err);
    }
    if (outcome.kind === 'failed') return { ok: false, diagnostic: outcome.diagnostic };
    const entry = toEntry(outcome, exchange, dl.requestKey, dedupeKeyOf(exchange, dl.requestKey), dl.source);
    const result = this.store.commit({ entries: [{ ...entry, retryOf: dl.id }], ...(this.cdc?.immediate ? { decideCdc: decide } : {}) });
    if (result.cdc) this.cdc?.report(result.cdc.skipped);
    return { ok: true, result };
  }

  private async apply(entries: DecodedEntry[], options: IngestOptions): Promise<BatchResult> {
    const keys = entries.map((e) => (e.ok ? requestKeyOf(e.exchange) : e.requestKey));
    const dedupeKeys = entries.map((e, i) => (e.ok ? dedupeKeyOf(e.exchange, keys[i]!) : keys[i]!));
    const seen = this.store.seen(dedupeKeys);
    const inBatch = new Set<string>();
    const outcomes: Array<EntryOutcome | Promise<EntryOutcome>> = [];
    let skipped = 0;
    for (let i = 0; i < entries.length; i++) {
      const dedupeKey = dedupeKeys[i]!;
      if (seen.has(dedupeKey) || inBatch.has(dedupeKey)) {
        skipped++;
        continue;
      }
      inBatch.add(dedupeKey);
      outcomes.push(this.outcomeOf(entries[i]!, keys[i]!, dedupeKey, options.source));
    }
    const resolved = outcomes.some((o) => o instanceof Promise) ? await Promise.all(outcomes) : (outcomes as EntryOutcome[]);
    const result = this.store.commit({
      entries: resolved,
      ...(options.checkpoint ? { checkpoint: options.checkpoint } : {}),
      ...(options.collect ? { collect: true } : {}),
      ...(this.cdc?.immediate ? { decideCdc: decide } : {}),
    });
    result.duplicates += skipped;
    if (result.cdc) this.cdc?.report(result.cdc.skipped);
    return result;
  }

  private outcomeOf(entry: DecodedEntry, requestKey: string, dedupeKey: string, source: string): EntryOutcome | Promise<EntryOutcome> {
    if (!entry.ok) {
      return { requestKey: dedupeKey, records: [], deadLetter: { source, requestKey, diagnostic: entry.diagnostic, record: entry.raw } };
    }
    const exchange = entry.exchange;
    let outcome: Outcome | Promise<Outcome>;
    try {
      outcome = processExchange(exchange, this.specs, requestKey);
    } catch (err) {
      outcome = internalFailure(err);
    }
    if (outcome instanceof Promise) {
      return outcome.catch(internalFailure).then((o) => toEntry(o, exchange, requestKey, dedupeKey, source));
    }
    return toEntry(outcome, exchange, requestKey, dedupeKey, source);
  }
}

function internalFailure(err: unknown): Outcome {
  return {
    kind: 'failed',
    diagnostic: { code: 'RX400', severity: 'error', message: `internal error while processing: ${(err as Error)?.stack ?? String(err)}` },
  };
}

function toEntry(outcome: Outcome, exchange: Exchange, requestKey: string, dedupeKey: string, source: string): EntryOutcome {
  switch (outcome.kind) {
    case 'records':
      return { requestKey: dedupeKey, records: outcome.records, ...(outcome.cdc ? { cdc: outcome.cdc } : {}) };
    case 'unmatched':
      return { requestKey: dedupeKey, records: [], unmatched: { label: outcome.label, method: exchange.request.method, path: exchange.request.path } };
    case 'failed':
      // The redacted Exchange is kept, so the entry can be processed again once the rule is fixed.
      return { requestKey: dedupeKey, records: [], deadLetter: { source, requestKey, diagnostic: outcome.diagnostic, record: exchange } };
  }
}
