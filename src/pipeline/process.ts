import type { Diagnostic } from '../model/diagnostic.js';
import type { Exchange } from '../model/exchange.js';
import type { CloudEvent } from '../model/records.js';
import { hashHex } from '../model/hash.js';
import { BudgetExceeded, DEFAULT_RULE_LIMITS, type RuleLimits } from '../rules/budget.js';
import { isPromise, type CompiledExpression } from '../rules/expression.js';
import type { CompiledOperation, CompiledRule, CompiledSpecSet, RequestPaths, RouteMatch } from '../spec/types.js';
import { CdcFailure, cdcIntentOf } from '../cdc/intent.js';
import type { CdcIntent } from '../cdc/types.js';
import type { PendingRecord } from '../store/types.js';
import { describeAttempts } from '../spec/route-attempts.js';
import { formatKey } from './keys.js';
import { redact } from './redact.js';
import { CODES, type RxCode } from '../codes.js';
import { ReflexError } from '../errors.js';

/**
 * The hot path: one Exchange in, its records out. Synchronous unless an expression needs jsonata's
 * async evaluator, so the common case allocates no promises.
 *
 * Runtime rule failures are reported with the RX4xx codes of src/codes.ts (and the rule's spec location).
 */
export type Outcome =
  | { kind: 'records'; operation: CompiledOperation; records: PendingRecord[]; cdc: CdcIntent | null }
  | { kind: 'unmatched'; label: string; /** What route matching tried (describeAttempts). */ hint: string }
  | { kind: 'failed'; diagnostic: Diagnostic; /** The operation whose rule failed, when one matched. */ operation?: CompiledOperation };

/** A rule's own failure, already a diagnostic naming the rule's place in the spec. */
export class RuleFailure extends ReflexError {
  constructor(readonly diagnostic: Diagnostic) {
    super(diagnostic.code, diagnostic.message, { pointer: diagnostic.pointer });
  }
}

export function processExchange(
  exchange: Exchange,
  specs: CompiledSpecSet,
  requestKey: string,
  limits: RuleLimits = DEFAULT_RULE_LIMITS,
): Outcome | Promise<Outcome> {
  const match = matchExchange(exchange, specs);
  if (!match) return unmatched(exchange, specs);
  return applyOperation(exchange, match.operation, requestKey, limits);
}

/** An exchange no operation matched: counted under its gateway route, with the paths tried. */
export function unmatched(exchange: Exchange, specs: CompiledSpecSet): Extract<Outcome, { kind: 'unmatched' }> {
  const paths = requestPaths(exchange);
  const g = exchange.gateway;
  const hint = describeAttempts(paths.method, specs.router.explain(paths));
  return { kind: 'unmatched', label: `${g.kind}/${g.route ?? g.service ?? '-'}`, hint };
}

/** Redacts the exchange and matches it to an operation, which it then names (route, params, operation). */
export function matchExchange(exchange: Exchange, specs: CompiledSpecSet): RouteMatch | null {
  redact(exchange, specs.redact);
  const match = specs.router.route(requestPaths(exchange));
  if (!match) return null;
  const op = match.operation;
  exchange.request.route = op.path;
  exchange.request.params = match.params;
  exchange.operation = { id: op.id, method: op.method, path: op.path };
  return match;
}

/** The rules and the CDC intent of the operation an exchange matched (the playground's draft rule runs here too). */
export function applyOperation(
  exchange: Exchange,
  op: CompiledOperation,
  requestKey: string,
  limits: RuleLimits = DEFAULT_RULE_LIMITS,
): Outcome | Promise<Outcome> {
  const records: PendingRecord[] = [];
  try {
    const pending = runRules(exchange, op, requestKey, records, 0, limits);
    if (pending) return finishAsync(pending.then(() => cdcIntentOf(exchange, op, limits)), op, records);
    const cdc = cdcIntentOf(exchange, op, limits);
    if (isPromise(cdc)) return finishAsync(cdc, op, records);
    return { kind: 'records', operation: op, records, cdc };
  } catch (err) {
    return failed(err, op);
  }
}

export function requestPaths(exchange: Exchange): RequestPaths {
  const r = exchange.request;
  // `?? null`: dead letters kept by earlier versions carry no upstreamPath.
  return { method: r.method, path: r.path, upstreamPath: r.upstreamPath ?? null, routePrefix: exchange.gateway.routePrefix ?? null };
}

/** The async tail, kept out of the synchronous path so that path allocates no closures. */
function finishAsync(cdc: Promise<CdcIntent | null>, op: CompiledOperation, records: PendingRecord[]): Promise<Outcome> {
  return cdc.then(
    (intent): Outcome => ({ kind: 'records', operation: op, records, cdc: intent }),
    (err: unknown) => failed(err, op),
  );
}

function failed(err: unknown, op: CompiledOperation): Outcome {
  if (err instanceof RuleFailure) return { kind: 'failed', diagnostic: err.diagnostic, operation: op };
  if (err instanceof CdcFailure || err instanceof BudgetExceeded) {
    const loc = op.location;
    const code = err.code;
    const message = err instanceof CdcFailure ? err.message : `x-reflex-cdc ${err.message}`;
    return {
      kind: 'failed',
      diagnostic: {
        code, severity: 'error', message, file: loc.file, pointer: `${loc.pointer}/x-reflex-cdc`,
        ...(loc.line !== undefined ? { line: loc.line, column: loc.column ?? 1 } : {}),
      },
      operation: op,
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
  limits: RuleLimits,
): Promise<void> | undefined {
  for (let i = start; i < op.rules.length; i++) {
    const rule = op.rules[i]!;
    const when = evaluatePart(rule, 'when', rule.when, ex, limits);
    if (isPromise(when)) {
      return when.then((w) => continueAsync(ex, op, requestKey, out, i, w, limits));
    }
    if (!checkWhen(rule, when)) continue;
    const emitted = emit(ex, op, rule, requestKey, limits);
    if (isPromise(emitted)) {
      return emitted.then((rec) => {
        out.push(rec);
        return runRules(ex, op, requestKey, out, i + 1, limits);
      });
    }
    out.push(emitted);
  }
  return undefined;
}

async function continueAsync(
  ex: Exchange, op: CompiledOperation, requestKey: string, out: PendingRecord[], i: number, when: unknown, limits: RuleLimits,
): Promise<void> {
  const rule = op.rules[i]!;
  if (checkWhen(rule, when)) out.push(await emit(ex, op, rule, requestKey, limits));
  await runRules(ex, op, requestKey, out, i + 1, limits);
}

function checkWhen(rule: CompiledRule, value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  throw new RuleFailure(ruleDiagnostic(rule, CODES.whenNotBoolean, `'when' of event ${rule.type} must give a boolean, got ${typeof value}`));
}

function emit(
  ex: Exchange, op: CompiledOperation, rule: CompiledRule, requestKey: string, limits: RuleLimits,
): PendingRecord | Promise<PendingRecord> {
  const data = evaluatePart(rule, 'data', rule.data, ex, limits);
  const keyExpr = rule.key ?? op.resource?.key ?? null;
  const key = keyExpr ? evaluatePart(rule, 'key', keyExpr, ex, limits) : null;
  if (isPromise(data) || isPromise(key)) {
    return Promise.all([data, key]).then(([d, k]) => build(ex, op, rule, requestKey, d, k, keyExpr !== null, limits));
  }
  return build(ex, op, rule, requestKey, data, key, keyExpr !== null, limits);
}

function build(
  ex: Exchange, op: CompiledOperation, rule: CompiledRule, requestKey: string, data: unknown, keyValue: unknown, keyed: boolean,
  limits: RuleLimits,
): PendingRecord {
  const subject = keyed ? formatKey(keyValue) : null;
  if (keyed && subject === null) {
    throw new RuleFailure(ruleDiagnostic(rule, CODES.keyEmpty, `the key of event ${rule.type} is empty (${JSON.stringify(keyValue) ?? 'undefined'}), so the event has no subject`));
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
  return { stream: rule.stream, key: subject, value: event, json: serialize(event, rule, limits.eventSize), type: rule.eventType };
}

/**
 * The event as the store writes it, serialized here once so that its size can be checked without
 * a second JSON.stringify. A UTF-8 byte is at most 3 per UTF-16 unit, so short events skip the count.
 */
function serialize(event: CloudEvent, rule: CompiledRule, eventSize: number): string {
  let json: string;
  try {
    json = JSON.stringify(event);
  } catch (err) {
    throw new RuleFailure(ruleDiagnostic(rule, PART_CODES.data, `'data' of event ${rule.type} cannot be written as JSON: ${(err as Error).message}`));
  }
  if (json.length * 3 > eventSize) {
    const bytes = Buffer.byteLength(json);
    if (bytes > eventSize) {
      throw new RuleFailure(ruleDiagnostic(rule, CODES.eventSize,
        `event ${rule.type} is ${bytes} bytes, larger than limits.eventSize (${eventSize} bytes)`));
    }
  }
  return json;
}

/** Deterministic: the same log entry and rule always make the same id, so every sink can drop duplicates. */
export function eventId(requestKey: string, operationId: string, rule: CompiledRule): string {
  return hashHex(`${requestKey}\n${operationId}\n${rule.index}\n${rule.type}`);
}

const PART_CODES = { when: CODES.whenFailed, data: CODES.dataFailed, key: CODES.keyFailed } as const;

/**
 * Evaluates one expression of a rule; a throw (or a rejected promise) becomes a RuleFailure naming
 * the rule. No closure is made unless the expression went async: this runs for every rule of every exchange.
 */
function evaluatePart(rule: CompiledRule, part: keyof typeof PART_CODES, expr: CompiledExpression, ex: Exchange, limits: RuleLimits): unknown {
  try {
    const v = expr.evaluate(ex, limits);
    return isPromise(v) ? v.catch((err: unknown) => partFailed(rule, part, err)) : v;
  } catch (err) {
    return partFailed(rule, part, err);
  }
}

function partFailed(rule: CompiledRule, part: keyof typeof PART_CODES, err: unknown): never {
  if (err instanceof RuleFailure) throw err;
  if (err instanceof BudgetExceeded) {
    throw new RuleFailure(ruleDiagnostic(rule, err.code, `'${part}' of event ${rule.type} ${err.message}`));
  }
  const message = String((err as Error)?.message ?? err).split('\n')[0];
  throw new RuleFailure(ruleDiagnostic(rule, PART_CODES[part], `'${part}' of event ${rule.type} failed: ${message}`));
}

function ruleDiagnostic(rule: CompiledRule, code: RxCode, message: string): Diagnostic {
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
