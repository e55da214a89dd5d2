import type { Exchange } from '../model/exchange.js';
import type { ChangeOp } from '../model/records.js';
import { BudgetExceeded, DEFAULT_RULE_LIMITS, type RuleLimits } from '../rules/budget.js';
import { isPromise, type CompiledExpression } from '../rules/expression.js';
import type { CdcOp, CompiledOperation } from '../spec/types.js';
import { UnsafeKeyError, formatKey } from '../pipeline/keys.js';
import type { CdcIntent } from './types.js';
import { CODES } from '../codes.js';
import { ReflexError } from '../errors.js';

const OP_LETTER: Record<Exclude<CdcOp, 'none'>, ChangeOp> = { create: 'c', update: 'u', delete: 'd', read: 'r' };

type CdcCode = typeof CODES.cdcKeyFailed | typeof CODES.cdcStateFailed | typeof CODES.cdcWhenFailed | typeof CODES.unsafeKey;

/** Thrown with the part of x-reflex-cdc that failed; the pipeline turns it into a dead letter. */
export class CdcFailure extends ReflexError {
  declare readonly code: CdcCode;
  constructor(code: CdcCode, message: string) {
    super(code, message);
  }
}

/**
 * What this exchange means for its resource's state, or null when it changes none (no cdc on the
 * resource, op none, `when` false, or nothing known about the new state). Synchronous unless the
 * `state` expression needs jsonata's async evaluator.
 */
export function cdcIntentOf(
  ex: Exchange, op: CompiledOperation, limits: RuleLimits = DEFAULT_RULE_LIMITS,
): CdcIntent | null | Promise<CdcIntent | null> {
  const resource = op.resource;
  if (!resource?.cdc || op.cdc.op === 'none') return null;
  const when = attempt(CODES.cdcWhenFailed, 'when', op.cdc.when, ex, limits);
  if (isPromise(when)) return when.then((w) => afterWhen(ex, op, w, limits));
  return afterWhen(ex, op, when, limits);
}

function afterWhen(ex: Exchange, op: CompiledOperation, when: unknown, limits: RuleLimits): CdcIntent | null | Promise<CdcIntent | null> {
  if (typeof when !== 'boolean') throw new CdcFailure(CODES.cdcWhenFailed, `x-reflex-cdc.when must give a boolean, got ${typeof when}`);
  if (!when) return null;
  const resource = op.resource!;
  const keyValue = attempt(CODES.cdcKeyFailed, 'key', resource.key, ex, limits);
  const stateValue = op.cdc.state ? attempt(CODES.cdcStateFailed, 'state', op.cdc.state, ex, limits) : undefined;
  if (isPromise(keyValue) || isPromise(stateValue)) {
    return Promise.all([keyValue, stateValue]).then(([k, s]) => build(ex, op, k, s));
  }
  return build(ex, op, keyValue, stateValue);
}

function build(ex: Exchange, op: CompiledOperation, keyValue: unknown, stateValue: unknown): CdcIntent | null {
  const resource = op.resource!;
  let key: string | null;
  try {
    key = formatKey(keyValue);
  } catch (err) {
    if (err instanceof UnsafeKeyError) throw new CdcFailure(err.code, `resource ${resource.name}: ${err.message}`);
    throw err;
  }
  if (key === null) {
    throw new CdcFailure(CODES.cdcKeyFailed, `the key of resource ${resource.name} is empty (${JSON.stringify(keyValue) ?? 'undefined'}) for ${ex.request.method} ${ex.request.path}`);
  }
  const letter = OP_LETTER[op.cdc.op as Exclude<CdcOp, 'none'>];
  const intent: CdcIntent = {
    resource: resource.name,
    key,
    op: letter,
    timeMs: Date.parse(ex.request.time),
    requestId: ex.request.id,
    source: {
      gateway: ex.gateway.kind,
      operationId: op.id,
      requestId: ex.request.id,
      method: ex.request.method,
      path: ex.request.path,
    },
  };
  if (letter === 'd') return intent;
  if (op.cdc.state) {
    intent.after = stateValue === undefined ? null : stateValue;
    return intent;
  }
  if (ex.response.body !== null) {
    intent.after = ex.response.body;
    return intent;
  }
  // No response body: the request tells the new state (PUT, POST) or how to change it (PATCH).
  if (ex.request.body === null) return null;
  if (ex.request.method === 'PATCH') {
    const contentType = ex.request.headers['content-type'] ?? '';
    intent.patch = { format: /application\/json-patch\+json/i.test(contentType) ? 'json-patch' : 'merge', document: ex.request.body };
    return intent;
  }
  intent.after = ex.request.body;
  return intent;
}

/** Evaluates one expression; a throw (or rejection) becomes a CdcFailure naming the part. No closure on the sync path. */
function attempt(code: CdcFailure['code'], part: string, expr: CompiledExpression, ex: Exchange, limits: RuleLimits): unknown {
  try {
    const v = expr.evaluate(ex, limits);
    return isPromise(v) ? v.catch((err: unknown) => fail(code, part, err)) : v;
  } catch (err) {
    return fail(code, part, err);
  }
}

function fail(code: CdcFailure['code'], part: string, err: unknown): never {
  if (err instanceof CdcFailure) throw err;
  // A budget keeps its own code (ruleTimeout, ruleDepth, eventSize).
  if (err instanceof BudgetExceeded) throw new BudgetExceeded(err.budget, `${part} ${err.message}`);
  throw new CdcFailure(code, `x-reflex-cdc ${part} failed: ${String((err as Error)?.message ?? err).split('\n')[0]}`);
}
