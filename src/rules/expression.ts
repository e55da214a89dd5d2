import type { RuleLimits } from './budget.js';
import { CODES, type RxCode } from '../codes.js';
import { ReflexError } from '../errors.js';

/** An expression compiled once at spec load and evaluated per exchange on the hot path. */
export interface CompiledExpression<T = unknown> {
  readonly language: 'cel' | 'jsonata';
  readonly source: string;
  /**
   * Synchronous where the compiled form allows it; a Promise only for jsonata's fallback evaluator.
   * Past a budget of `limits` (default DEFAULT_RULE_LIMITS) it throws (or rejects with) BudgetExceeded.
   */
  evaluate(input: unknown, limits?: RuleLimits): T | Promise<T>;
  /** jsonata only: true when compiled to synchronous closures, false when jsonata's evaluator runs. */
  readonly fast?: boolean;
  /** The syntax tree it was compiled from (CEL: cel-js's; jsonata: the processed AST), for analysis at load. */
  readonly ast?: unknown;
}

/**
 * A syntax or type error found while compiling; `offset` is the 0-based character offset in `source`.
 * The spec loader refines `code` (unknown function, type error ...) where it can tell.
 */
export class ExpressionError extends ReflexError {
  constructor(
    readonly language: 'cel' | 'jsonata',
    message: string,
    readonly offset: number | undefined,
    readonly hint?: string,
    code: RxCode = language === 'cel' ? CODES.celSyntax : CODES.jsonataSyntax,
  ) {
    super(code, message, { status: 400 });
  }
}

export function isPromise<T>(v: T | Promise<T>): v is Promise<T> {
  return typeof (v as { then?: unknown } | null)?.then === 'function';
}
