import type { Exchange } from '../model/exchange.js';
import { BackpressureError, type DecodedEntry } from '../sources/types.js';
import type { CompiledSpecSet } from '../spec/types.js';
import type { BatchResult, BatchWrite, DeadLetter, EntryOutcome, EventStore } from '../store/types.js';
import type { Diagnostic } from '../model/diagnostic.js';
import type { CdcApplier } from '../cdc/applier.js';
import type { Logger } from '../logger.js';
import { setImmediate as immediate } from 'node:timers/promises';
import type { RuleLimits } from '../rules/budget.js';
import { processExchange, type Outcome } from './process.js';
import { errorText, internalFailure, timedOutcomeOf, toEntry } from './entry-outcome.js';
import type { IngestMetrics } from '../metrics/types.js';
import type { PreparedBatch } from './prepared.js';
import { CODES } from '../codes.js';

/** How long a batch runs on the event loop before it lets other work in. */
const YIELD_AFTER_MS = 5;

/**
 * Lets timers and I/O run. An immediate queued from an I/O callback runs in the same turn of the
 * loop, before any new I/O is read; the second one comes only after the loop went round once.
 */
async function yieldToEventLoop(): Promise<void> {
  await immediate();
  await immediate();
}

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

/** A batch waiting for its turn, with the answer its caller awaits. */
/** A batch of a pulling source (S3, Elasticsearch, Kafka, a file): it carries its checkpoint. */
const pulled = (batch: WaitingBatch | undefined) => batch?.options.checkpoint !== undefined;

interface WaitingBatch {
  /** Decoded entries to process here, or a payload being processed on an ingest worker. */
  entries: DecodedEntry[] | Promise<PreparedBatch>;
  options: IngestOptions;
  resolve: (result: BatchResult) => void;
  reject: (err: unknown) => void;
  /** Its entries can be taken without waiting (decoded here, or back from the worker). */
  ready: boolean;
}

/**
 * At most this many entries commit together: batches that arrived while the previous group was
 * being processed share one transaction (one fsync), but the first of them waits for the others.
 */
const GROUP_ENTRIES = 1_000;
/** Batches from workers count as this many entries until they are back. */
const PREPARED_WEIGHT = 100;

const weight = (b: WaitingBatch) => (Array.isArray(b.entries) ? b.entries.length : PREPARED_WEIGHT);

/**
 * Turns decoded log entries into store transactions. Batches are applied in arrival order, so
 * offsets follow arrival and a re-sent batch racing its original is still dropped. Batches that
 * arrive while others are being processed commit together (group commit): each in its own
 * savepoint of one transaction, each answered only once that transaction is durable.
 */
export class Ingestor {
  private tail: Promise<unknown> = Promise.resolve();
  private stopping = false;
  /** Non-empty only while one group run is queued on `tail` to take them. */
  private waiting: WaitingBatch[] = [];

  constructor(
    private readonly store: EventStore,
    private specs: CompiledSpecSet,
    /** Without a reorder window, changes apply right after the batch, before it is acknowledged. */
    private readonly cdc: CdcApplier | null = null,
    /** `rules`: the budgets of every rule evaluation (limits.ruleTimeout, ruleDepth, eventSize). */
    private readonly options: { jsonDepth?: number; logger?: Logger; rules?: RuleLimits; metrics?: IngestMetrics } = {},
  ) {}

  /** Gateway routes whose unmatched exchanges were logged already: one line each, not one per exchange. */
  private readonly unmatchedLogged = new Set<string>();

  private logUnmatched(entries: readonly EntryOutcome[]): void {
    const logger = this.options.logger;
    if (!logger) return;
    for (const e of entries) {
      const u = e.unmatched;
      if (!u || this.unmatchedLogged.has(u.label) || this.unmatchedLogged.size >= 1000) continue;
      this.unmatchedLogged.add(u.label);
      logger.warn(`exchanges of ${u.label} match no operation (counted in GET /unmatched; logged once per route)`, { tried: u.hint });
    }
  }

  /**
   * Commits a batch: decoded entries, or the promise of a payload an ingest worker is processing
   * (handed in when it arrives, so that batches still commit in arrival order).
   */
  ingest(entries: DecodedEntry[] | Promise<PreparedBatch>, options: IngestOptions): Promise<BatchResult> {
    return new Promise((resolve, reject) => {
      const batch: WaitingBatch = { entries, options, resolve, reject, ready: Array.isArray(entries) };
      if (!batch.ready) void (entries as Promise<PreparedBatch>).then(() => (batch.ready = true), () => (batch.ready = true));
      this.waiting.push(batch);
      if (this.waiting.length === 1) void this.enqueue(() => this.applyGroup());
    });
  }

  private enqueue<T>(job: () => Promise<T>): Promise<T> {
    const run = this.tail.then(job);
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** Takes the batches waiting now (up to GROUP_ENTRIES entries) and answers each of them. */
  private async applyGroup(): Promise<void> {
    // Requests whose bodies completed in the same turn of the event loop join this group: without
    // this wait, the first of them would start (and commit) alone before the others were read.
    // A pulling source (its batch carries a checkpoint) awaits each batch before reading the next:
    // there is nobody to wait for, and the wait tripled the peak memory of a large S3 object's read.
    if (!pulled(this.waiting[0])) await immediate();
    // The first batch is awaited; those behind it join only if a worker has finished them. Waiting
    // for all of them made the answers come in waves: every batch in flight answered together, the
    // worker idle while this thread committed and this thread idle while the worker decoded (both
    // about 40% idle in bench (b)). Groups still grow by themselves when this thread is the slower.
    await settled(this.waiting[0]!.entries);
    let taken = 0;
    let entries = 0;
    while (taken < this.waiting.length && (taken === 0 || (this.waiting[taken]!.ready && entries + weight(this.waiting[taken]!) <= GROUP_ENTRIES))) {
      entries += weight(this.waiting[taken++]!);
    }
    const group = this.waiting.splice(0, taken);
    // Those left over get the next run (later arrivals join them, see ingest()).
    if (this.waiting.length > 0) void this.enqueue(() => this.applyGroup());
    let results: Array<BatchResult | Error>;
    let writeStarted: number;
    try {
      ({ results, writeStarted } = await this.applyBatches(group));
    } catch (err) {
      for (const b of group) b.reject(err);
      return;
    }
    // Answered once the commit is on disk; meanwhile the next group is processed (and its commit
    // joins the next fsync).
    const metrics = this.options.metrics;
    const answer = (durable: Error | null) => group.forEach((b, i) => {
      if (i === 0 && metrics && !durable) metrics.committed((performance.now() - writeStarted) / 1000);
      const result = results[i]!;
      if (result instanceof Error || durable) b.reject(result instanceof Error ? result : durable);
      else b.resolve(result);
    });
    const durable = this.store.durable?.();
    if (!durable) answer(null);
    else void durable.then(() => answer(null), (err: unknown) => answer(err instanceof Error ? err : new Error(String(err))));
  }

  /**
   * Processes a dead letter again with the rules loaded now (after a fixed spec, say). Its records
   * and the removal of the dead letter commit together; if it fails again, it stays.
   */
  retry(deadLetter: DeadLetter): Promise<{ ok: true; result: BatchResult } | { ok: false; diagnostic: Diagnostic }> {
    return this.enqueue(() => this.applyRetry(deadLetter));
  }

  /**
   * Rules from `specs` for every batch committed after those queued now (a spec reload): batches are
   * processed one group at a time, so none sees two sets. Resolves once it is in use.
   */
  useSpecs(specs: CompiledSpecSet): Promise<void> {
    return this.enqueue(async () => {
      this.specs = specs;
    });
  }

  /** Without a reorder window the CDC applier commits, so that changes apply in the batch's transaction. */
  private commit(batch: BatchWrite): BatchResult {
    return this.cdc ? this.cdc.commit(batch) : this.store.commit(batch);
  }

  private async applyRetry(dl: DeadLetter): Promise<{ ok: true; result: BatchResult } | { ok: false; diagnostic: Diagnostic }> {
    const rec = dl.record as Partial<Exchange> | null;
    if (!rec || typeof rec.request?.method !== 'string' || typeof rec.response?.status !== 'number') {
      return {
        ok: false,
        diagnostic: { code: CODES.retryUnreadable, severity: 'error', message: `dead letter ${dl.id} holds a log entry that could not be read (${dl.diagnostic.code}); correct it and send it again` },
      };
    }
    const exchange = structuredClone(rec) as Exchange;
    exchange.request.route = null;
    exchange.request.params = {};
    exchange.operation = null;
    let outcome: Outcome;
    try {
      outcome = await processExchange(exchange, this.specs, dl.requestKey, this.options.rules);
    } catch (err) {
      outcome = internalFailure(err);
    }
    if (outcome.kind === 'failed') return { ok: false, diagnostic: outcome.diagnostic };
    const entry = toEntry(outcome, exchange, dl.requestKey, dedupeKeyOf(exchange, dl.requestKey), dl.source);
    const written = [{ ...entry, retryOf: dl.id }];
    const result = this.commit({ entries: written });
    this.options.metrics?.written(written);
    if (result.cdc) this.cdc?.report(result.cdc);
    return { ok: true, result };
  }

  /**
   * From now on, a batch being processed (or waiting) is given up at its next pause, uncommitted
   * and unacknowledged (503: the gateway sends it again), so a stop never waits for slow rules.
   */
  stop(): void {
    this.stopping = true;
  }

  private refuseWhenStopping(): void {
    if (this.stopping) throw new BackpressureError('reflex is stopping; nothing of this batch was stored, send it again', 1);
  }

  /**
   * Processes the batches one after another (duplicates dropped against the store and every entry
   * before them), then writes them in one transaction, each batch in its own savepoint.
   */
  private async applyBatches(group: WaitingBatch[]): Promise<{ results: Array<BatchResult | Error>; writeStarted: number }> {
    this.refuseWhenStopping();
    const inputs = await Promise.allSettled(group.map((b) => b.entries));
    this.refuseWhenStopping();
    const keys = inputs.map((input) => (input.status === 'fulfilled' && Array.isArray(input.value)
      ? input.value.map((e) => (e.ok ? requestKeyOf(e.exchange) : e.requestKey))
      : []));
    const dedupeKeys = inputs.map((input, g) => {
      if (input.status === 'rejected') return [];
      if (!Array.isArray(input.value)) return input.value.outcomes.map((o) => o.requestKey);
      return input.value.map((e, i) => (e.ok ? dedupeKeyOf(e.exchange, keys[g]![i]!) : keys[g]![i]!));
    });
    const seen = this.store.seen(dedupeKeys.flat());
    const inGroup = new Set<string>();
    const isNew = (dedupeKey: string) => !seen.has(dedupeKey) && !inGroup.has(dedupeKey) && (inGroup.add(dedupeKey), true);
    const processed: Array<{ resolved: EntryOutcome[]; skipped: number } | Error> = [];
    const ruleTimer = this.options.metrics?.rules ?? null;
    let sliceStart = performance.now();
    for (let g = 0; g < group.length; g++) {
      const input = inputs[g]!;
      if (input.status === 'rejected') {
        processed.push(input.reason instanceof Error ? input.reason : new Error(String(input.reason)));
        continue;
      }
      const resolved: EntryOutcome[] = [];
      let skipped = 0;
      if (!Array.isArray(input.value)) {
        if (input.value.ruleTimes) this.options.metrics?.addRuleTimes(input.value.ruleTimes);
        for (const outcome of input.value.outcomes) {
          if (isNew(outcome.requestKey)) resolved.push(outcome);
          else skipped++;
        }
        processed.push({ resolved, skipped });
        continue;
      }
      const entries = input.value;
      const { source } = group[g]!.options;
      for (let i = 0; i < entries.length; i++) {
        const dedupeKey = dedupeKeys[g]![i]!;
        if (!isNew(dedupeKey)) {
          skipped++;
          continue;
        }
        const outcome = timedOutcomeOf(entries[i]!, keys[g]![i]!, dedupeKey, source, this.specs, this.options, ruleTimer);
        resolved.push(outcome instanceof Promise ? await outcome : outcome);
        // Each rule may run up to limits.ruleTimeout: between exchanges, let /healthz, SIGTERM and
        // other requests in. The batches still commit in one transaction, below.
        if (performance.now() - sliceStart > YIELD_AFTER_MS) {
          await yieldToEventLoop();
          this.refuseWhenStopping();
          sliceStart = performance.now();
        }
      }
      processed.push({ resolved, skipped });
    }
    const writable = processed.flatMap((p, g) => (p instanceof Error ? [] : [{ g, entries: p.resolved, options: group[g]!.options }]));
    const writeStarted = performance.now();
    // writeGroup puts in `batches` what it wrote instead when it had to (an entry that cannot be stored became a dead letter).
    const batches = writable.map((w) => w.entries);
    const written = this.writeGroup(batches, writable.map((w) => w.options));
    const results: Array<BatchResult | Error> = processed.map((p) => (p instanceof Error ? p : new Error('not written')));
    writable.forEach((w, i) => {
      results[w.g] = written[i]!;
      if (!(written[i] instanceof Error)) this.options.metrics?.written(batches[i]!);
    });
    return { writeStarted, results: results.map((result, g) => {
      const p = processed[g]!;
      if (result instanceof Error || p instanceof Error) return result;
      const { resolved, skipped } = p;
      result.duplicates += skipped;
      if (result.cdc) this.cdc?.report(result.cdc);
      if (result.unmatched > 0) this.logUnmatched(resolved);
      return result;
    }) };
  }

  /**
   * One transaction for the whole group, each batch in a savepoint of it. Should it fail, nothing of
   * it stayed, and each batch is written alone as if it had come alone: an entry that cannot be
   * stored becomes a dead letter, a store failure fails only its own batch.
   */
  private writeGroup(batches: EntryOutcome[][], options: IngestOptions[]): Array<BatchResult | Error> {
    // The fsync off the main thread is for pushed batches, answered while the next group is processed;
    // a pulled batch is the only one in flight (and waiting for the fsync raised a large read's peak memory as above).
    const defer = this.store.deferSync && !options.some((o) => o.checkpoint !== undefined);
    return defer ? this.store.deferSync!(() => this.writeGroupNow(batches, options)) : this.writeGroupNow(batches, options);
  }

  private writeGroupNow(batches: EntryOutcome[][], options: IngestOptions[]): Array<BatchResult | Error> {
    if (batches.length > 1) {
      try {
        return this.store.transaction(() => batches.map((entries, g) => this.commit(batchWrite(entries, options[g]!))));
      } catch {
        // written one by one below
      }
    }
    return batches.map((entries, g) => {
      try {
        return this.writeBatch(entries, options[g]!, (storable) => (batches[g] = storable));
      } catch (err) {
        return err instanceof Error ? err : new Error(String(err));
      }
    });
  }

  /** `wrote` hears of the entries written instead of `resolved`, when some became dead letters. */
  private writeBatch(resolved: EntryOutcome[], options: IngestOptions, wrote: (entries: EntryOutcome[]) => void): BatchResult {
    const write = (entries: EntryOutcome[]) => this.commit(batchWrite(entries, options));
    try {
      return write(resolved);
    } catch (err) {
      // The transaction (or savepoint) rolled back. When some entries cannot be written (a value JSON
      // cannot hold), those become dead letters and the rest commits; a store failure (disk, file) stays the batch's.
      const storable = resolved.map((o) => storableOutcome(o, options.source));
      if (!storable.some((o, i) => o !== resolved[i])) throw err;
      const result = write(storable);
      wrote(storable);
      return result;
    }
  }
}

/** Resolves once the entries are there, whether the worker succeeded or not (applyBatches sorts that out). */
async function settled(entries: WaitingBatch['entries']): Promise<void> {
  if (!Array.isArray(entries)) await entries.then(() => undefined, () => undefined);
}

function batchWrite(entries: EntryOutcome[], options: IngestOptions): BatchWrite {
  return { entries, ...(options.checkpoint ? { checkpoint: options.checkpoint } : {}), ...(options.collect ? { collect: true } : {}) };
}

/**
 * The outcome as it can be written: values that JSON.stringify refuses (a cycle, a BigInt, nesting
 * too deep for the stack) make the entry a dead letter instead (RX400, its record kept if it can be).
 * Returns the same object when nothing needs to change.
 */
function storableOutcome(o: EntryOutcome, source: string): EntryOutcome {
  const problem = unstorable([o.records.map((r) => r.value), o.cdc ?? null]) ?? (o.deadLetter ? unstorable([o.deadLetter.diagnostic]) : null);
  const recordProblem = o.deadLetter ? unstorable([o.deadLetter.record]) : null;
  if (problem === null && recordProblem === null) return o;
  const diagnostic = problem !== null || !o.deadLetter
    ? { code: CODES.processingFailed, severity: 'error' as const, message: `the records of this entry cannot be stored: ${problem ?? recordProblem}` }
    : o.deadLetter.diagnostic;
  // An entry's dedupe key is `<time>|<request key>` (see dedupeKeyOf).
  const requestKey = o.deadLetter?.requestKey ?? o.requestKey.slice(o.requestKey.indexOf('|') + 1);
  return { requestKey: o.requestKey, records: [], deadLetter: { source, requestKey, diagnostic, record: recordProblem === null && o.deadLetter ? o.deadLetter.record : null } };
}

function unstorable(value: unknown): string | null {
  try {
    JSON.stringify(value);
    return null;
  } catch (err) {
    return errorText(err);
  }
}
