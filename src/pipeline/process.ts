import type { Diagnostic } from '../model/diagnostic.js';
import type { Exchange } from '../model/exchange.js';
import type { CloudEvent } from '../model/records.js';
import { hashHex } from '../model/hash.js';
import { isPromise, type CompiledExpression } from '../rules/expression.js';
import type { CompiledOperation, CompiledRule, CompiledSpecSet } from '../spec/types.js';
import { CdcFailure, cdcIntentOf } from '../cdc/intent.js';
import type { CdcIntent } from '../cdc/types.js';
import type { PendingRecord } from '../store/types.js';
import { formatKey } from './keys.js';
import { redact } from './redact.js';

/**
 * The hot path: one Exchange in, its records out. Synchronous unless an expression needs jsonata's
 * async evaluator, so the common case allocates no promises.
 *
 * Runtime rule failures are reported with these codes (and the rule's spec location):
 *   RX401 `when` failed   RX402 `when` is not a boolean   RX403 `data` failed
 *   RX404 `key` failed    RX405 the key is empty
 *   RX406 the resource key for CDC failed or is empty   RX407 x-reflex-cdc.state failed
 *   RX408 x-reflex-cdc.when failed or is not a boolean
 */
export type Outcome =
  | { kind: 'records'; operation: CompiledOperation; records: PendingRecord[]; cdc: CdcIntent | null }
  | { kind: 'unmatched'; label: string }
  | { kind: 'failed'; diagnostic: Diagnostic };

export class RuleFailure extends Error {
  constructor(readonly diagnostic: Diagnostic) {
    super(diagnostic.message);
  }
}

export function processExchange(
  exchange: Exchange,
  specs: CompiledSpecSet,
  requestKey: string,
): Outcome | Promise<Outcome> {
  redact(exchange, specs.redact);
  const match = specs.router.match(exchange.request.method, exchange.request.path);
  if (!match) {
    const g = exchange.gateway;
    return { kind: 'unmatched', label: `${g.kind}/${g.route ?? g.service ?? '-'}` };
  }
  const op = match.operation;
  exchange.request.route = op.path;
  exchange.request.params = match.params;
  exchange.operation = { id: op.id, method: op.method, path: op.path };
  const records: PendingRecord[] = [];
  try {
    const pending = runRules(exchange, op, requestKey, records, 0);
    if (pending) return finishAsync(pending.then(() => cdcIntentOf(exchange, op)), op, records);
    const cdc = cdcIntentOf(exchange, op);
    if (isPromise(cdc)) return finishAsync(cdc, op, records);
    return { kind: 'records', operation: op, records, cdc };
  } catch (err) {
    return failed(err, op);
  }
}

/** The async tail, kept out of the synchronous path so that path allocates no closures. */
function finishAsync(cdc: Promise<CdcIntent | null>, op: CompiledOperation, records: PendingRecord[]): Promise<Outcome> {
  return cdc.then(
    (intent): Outcome => ({ kind: 'records', operation: op, records, cdc: intent }),
    (err: unknown) => failed(err, op),
  );
}

function failed(err: unknown, op: CompiledOperation): Outcome {
  if (err instanceof RuleFailure) return { kind: 'failed', diagnostic: err.diagnostic };
  if (err instanceof CdcFailure) {
    const loc = op.location;
    return {
      kind: 'failed',
      diagnostic: {
        code: err.code, severity: 'error', message: err.message, file: loc.file, pointer: `${loc.pointer}/x-reflex-cdc`,
        ...(loc.line !== undefined ? { line: loc.line, column: loc.column ?? 1 } : {}),
      },
    };
  }
  throw err;
}

/** Runs rules from `start`; returns a promise only when some expression went async. */
function runRules(
  ex: Exchange,
  op: CompiledOperation,
  requestKey: string,
  out: PendingRecord[],
  start: number,
): Promise<void> | undefined {
  for (let i = start; i < op.rules.length; i++) {
    const rule = op.rules[i]!;
    const when = evaluatePart(rule, 'when', rule.when, ex);
    if (isPromise(when)) {
      return when.then((w) => continueAsync(ex, op, requestKey, out, i, w));
    }
    if (!checkWhen(rule, when)) continue;
    const emitted = emit(ex, op, rule, requestKey);
    if (isPromise(emitted)) {
      return emitted.then((rec) => {
        out.push(rec);
        return runRules(ex, op, requestKey, out, i + 1);
      });
    }
    out.push(emitted);
  }
  return undefined;
}

async function continueAsync(
  ex: Exchange, op: CompiledOperation, requestKey: string, out: PendingRecord[], i: number, when: unknown,
): Promise<void> {
  const rule = op.rules[i]!;
  if (checkWhen(rule, when)) out.push(await emit(ex, op, rule, requestKey));
  await runRules(ex, op, requestKey, out, i + 1);
}

function checkWhen(rule: CompiledRule, value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  throw new RuleFailure(ruleDiagnostic(rule, 'RX402', `'when' of event ${rule.type} must give a boolean, got ${typeof value}`));
}

function emit(ex: Exchange, op: CompiledOperation, rule: CompiledRule, requestKey: string): PendingRecord | Promise<PendingRecord> {
  const data = evaluatePart(rule, 'data', rule.data, ex);
  const keyExpr = rule.key ?? op.resource?.key ?? null;
  const key = keyExpr ? evaluatePart(rule, 'key', keyExpr, ex) : null;
  if (isPromise(data) || isPromise(key)) {
    return Promise.all([data, key]).then(([d, k]) => build(ex, op, rule, requestKey, d, k, keyExpr !== null));
  }
  return build(ex, op, rule, requestKey, data, key, keyExpr !== null);
}

function build(
  ex: Exchange, op: CompiledOperation, rule: CompiledRule, requestKey: string, data: unknown, keyValue: unknown, keyed: boolean,
): PendingRecord {
  const subject = keyed ? formatKey(keyValue) : null;
  if (keyed && subject === null) {
    throw new RuleFailure(ruleDiagnostic(rule, 'RX405', `the key of event ${rule.type} is empty (${JSON.stringify(keyValue) ?? 'undefined'}), so the event has no subject`));
  }
  const event: CloudEvent = {
    specversion: '1.0',
    id: eventId(requestKey, op.id, rule),
    source: op.source,
    type: rule.eventType,
    ...(subject !== null ? { subject } : {}),
    time: ex.request.time,
    datacontenttype: 'application/json',
    data: data === undefined ? null : data,
    reflexstream: rule.stream,
    reflexoperation: op.id,
    reflexrequestid: ex.request.id,
  };
  return { stream: rule.stream, key: subject, value: event };
}

/** Deterministic: the same log entry and rule always make the same id, so every sink can drop duplicates. */
export function eventId(requestKey: string, operationId: string, rule: CompiledRule): string {
  return hashHex(`${requestKey}\n${operationId}\n${rule.index}\n${rule.type}`);
}

const CODES = { when: 'RX401', data: 'RX403', key: 'RX404' } as const;

/**
 * Evaluates one expression of a rule; a throw (or a rejected promise) becomes a RuleFailure naming
 * the rule. No closure is made unless the expression went async: this runs for every rule of every exchange.
 */
function evaluatePart(rule: CompiledRule, part: keyof typeof CODES, expr: CompiledExpression, ex: Exchange): unknown {
  try {
    const v = expr.evaluate(ex);
    return isPromise(v) ? v.catch((err: unknown) => partFailed(rule, part, err)) : v;
  } catch (err) {
    return partFailed(rule, part, err);
  }
}

function partFailed(rule: CompiledRule, part: keyof typeof CODES, err: unknown): never {
  if (err instanceof RuleFailure) throw err;
  const message = String((err as Error)?.message ?? err).split('\n')[0];
  throw new RuleFailure(ruleDiagnostic(rule, CODES[part], `'${part}' of event ${rule.type} failed: ${message}`));
}

function ruleDiagnostic(rule: CompiledRule, code: string, message: string): Diagnostic {
  const loc = rule.location;
  return {
    code,
    severity: 'error',
    message,
    file: loc.file,
    pointer: loc.pointer,
    ...(loc.line !== undefined ? { line: loc.line, column: loc.column ?? 1 } : {}),
  };
}
