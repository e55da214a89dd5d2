import type { Exchange } from '../model/exchange.js';
import { DEFAULT_JSON_DEPTH } from '../model/json-depth.js';
import type { RuleLimits } from '../rules/budget.js';
import type { DecodedEntry } from '../sources/types.js';
import type { CompiledSpecSet } from '../spec/types.js';
import type { EntryOutcome } from '../store/types.js';
import { CODES } from '../codes.js';
import { UnsafeKeyError } from './keys.js';
import { processExchange, type Outcome } from './process.js';
import { redactRaw } from './redact.js';

/** What processing an entry may use besides the specs: `limits.jsonDepth` and the rule budgets. */
export interface EntryLimits {
  jsonDepth?: number;
  rules?: RuleLimits;
}

/**
 * What one decoded entry makes (records, a CDC intent, a dead letter or an unmatched count), the
 * same on the main thread and on an ingest worker. Synchronous unless a rule went async.
 */
export function outcomeOf(
  entry: DecodedEntry, requestKey: string, dedupeKey: string, source: string, specs: CompiledSpecSet, limits: EntryLimits,
): EntryOutcome | Promise<EntryOutcome> {
  if (!entry.ok) {
    // Stored as received, but never with credentials in it, nor deeper than anything can walk.
    const record = redactRaw(entry.raw, specs.redact, limits.jsonDepth ?? DEFAULT_JSON_DEPTH);
    return { requestKey: dedupeKey, records: [], deadLetter: { source, requestKey, diagnostic: entry.diagnostic, record } };
  }
  const exchange = entry.exchange;
  let outcome: Outcome | Promise<Outcome>;
  try {
    outcome = processExchange(exchange, specs, requestKey, limits.rules);
  } catch (err) {
    outcome = internalFailure(err, entryPlace(entry));
  }
  if (outcome instanceof Promise) {
    return outcome.catch((err: unknown) => internalFailure(err, entryPlace(entry))).then((o) => toEntry(o, exchange, requestKey, dedupeKey, source));
  }
  return toEntry(outcome, exchange, requestKey, dedupeKey, source);
}

/** Where the time of an exchange's rules is observed (reflex_rule_evaluation_seconds). */
export interface RuleTimer {
  observe(seconds: number): void;
}

/** outcomeOf, timed into `timer` when the exchange matched an operation (unmatched and unreadable entries run no rules). */
export function timedOutcomeOf(
  entry: DecodedEntry, requestKey: string, dedupeKey: string, source: string, specs: CompiledSpecSet, limits: EntryLimits, timer: RuleTimer | null,
): EntryOutcome | Promise<EntryOutcome> {
  if (!timer || !entry.ok) return outcomeOf(entry, requestKey, dedupeKey, source, specs, limits);
  const started = performance.now();
  const outcome = outcomeOf(entry, requestKey, dedupeKey, source, specs, limits);
  if (outcome instanceof Promise) return outcome.then((o) => observed(o, started, timer));
  return observed(outcome, started, timer);
}

function observed(outcome: EntryOutcome, started: number, timer: RuleTimer): EntryOutcome {
  if (outcome.operation !== undefined) timer.observe((performance.now() - started) / 1000);
  return outcome;
}

/**
 * Anything a rule or the pipeline throws that is not a rule's own failure (RX401-RX408): this entry
 * becomes a dead letter with RX400, never the batch's 500. `where` is the entry's place in its payload.
 */
export function internalFailure(err: unknown, where: { pointer?: string; line?: number } = {}): Outcome {
  if (err instanceof UnsafeKeyError) return { kind: 'failed', diagnostic: { code: err.code, severity: 'error', message: err.message, ...where } };
  return {
    kind: 'failed',
    diagnostic: { code: CODES.processingFailed, severity: 'error', message: `internal error while processing: ${errorText(err)}`, ...where },
  };
}

/** Where an entry sat in its payload, for a dead letter made while processing it (built only then). */
function entryPlace(entry: DecodedEntry): { pointer?: string; line?: number } {
  return { ...(entry.ok && entry.pointer !== undefined ? { pointer: entry.pointer } : {}), ...(entry.ok && entry.line !== undefined ? { line: entry.line } : {}) };
}

export function errorText(err: unknown): string {
  try {
    return String((err as Error)?.message ?? err).split('\n')[0]!;
  } catch {
    return 'unknown error';
  }
}


export function toEntry(outcome: Outcome, exchange: Exchange, requestKey: string, dedupeKey: string, source: string): EntryOutcome {
  switch (outcome.kind) {
    case 'records':
      return { requestKey: dedupeKey, records: outcome.records, operation: outcome.operation.id, ...(outcome.cdc ? { cdc: outcome.cdc } : {}) };
    case 'unmatched':
      return { requestKey: dedupeKey, records: [], unmatched: { label: outcome.label, method: exchange.request.method, path: exchange.request.path, hint: outcome.hint } };
    case 'failed':
      // The redacted Exchange is kept, so the entry can be processed again once the rule is fixed.
      return {
        requestKey: dedupeKey, records: [], deadLetter: { source, requestKey, diagnostic: outcome.diagnostic, record: exchange },
        ...(outcome.operation ? { operation: outcome.operation.id } : {}),
      };
  }
}
