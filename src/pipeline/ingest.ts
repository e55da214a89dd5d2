import type { Exchange } from '../model/exchange.js';
import type { DecodedEntry } from '../sources/types.js';
import type { CompiledSpecSet } from '../spec/types.js';
import type { BatchResult, EntryOutcome, EventStore } from '../store/types.js';
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
