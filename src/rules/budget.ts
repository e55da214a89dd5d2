import { CODES } from '../codes.js';
import { defaultConfig } from '../config/types.js';
import { ReflexError } from '../errors.js';

/**
 * What one evaluation of a rule may cost (`limits` in reflex.yaml). A rule past its budget makes
 * its exchange a dead letter; it never holds the event loop longer than `timeoutMs`.
 */
export interface RuleLimits {
  /** Wall time of one expression evaluation, in milliseconds (`limits.ruleTimeout`). */
  timeoutMs: number;
  /** How deep JSONata's evaluator may nest: sub-expressions plus recursive calls (`limits.ruleDepth`). */
  maxDepth: number;
  /** Largest serialized event, in bytes (`limits.eventSize`). */
  eventSize: number;
}

/** The `limits:` defaults of reflex.yaml's schema, for evaluations run without a config. */
export const DEFAULT_RULE_LIMITS: Readonly<RuleLimits> = Object.freeze(defaultConfig().limits.rules);

export type BudgetName = 'ruleTimeout' | 'ruleDepth' | 'eventSize';

const BUDGET_CODES = { ruleTimeout: CODES.ruleTimeout, ruleDepth: CODES.ruleDepth, eventSize: CODES.eventSize } as const;

/** Thrown when an evaluation exceeds one of its budgets (`code` names it); the pipeline names the rule. */
export class BudgetExceeded extends ReflexError {
  declare readonly code: (typeof BUDGET_CODES)[BudgetName];
  constructor(readonly budget: BudgetName, message: string) {
    super(BUDGET_CODES[budget], message);
  }
}

/**
 * The time budget of the CEL evaluation running now. CEL evaluates synchronously, so one clock
 * serves every expression; only loops (comprehensions) tick it, and the first tick reads the time,
 * so a rule without a comprehension never reads a clock.
 */
let ticks = 0;
let startedAt = 0;
let timeoutMs: number = DEFAULT_RULE_LIMITS.timeoutMs;
/** Sticky: CEL folds errors inside `exists` and `||` away, so every later step must fail too. */
let exceeded: BudgetExceeded | null = null;

export function startCelBudget(limits: RuleLimits): void {
  ticks = 0;
  timeoutMs = limits.timeoutMs;
  exceeded = null;
}

/** The budget error of the evaluation that just ended, even when CEL absorbed it into a result. */
export function celBudgetExceeded(): BudgetExceeded | null {
  return exceeded;
}

/** One iteration of a CEL comprehension; throws once the running evaluation is past its time. */
export function celTick(): void {
  if (exceeded) throw exceeded;
  if (ticks++ === 0) {
    startedAt = performance.now();
    return;
  }
  // Reading the clock every iteration would cost more than a cheap step; 64 steps stay well under a millisecond.
  if ((ticks & 63) === 0 && performance.now() - startedAt > timeoutMs) {
    exceeded = new BudgetExceeded('ruleTimeout', `ran longer than limits.ruleTimeout (${timeoutMs} ms), after ${ticks} comprehension steps`);
    throw exceeded;
  }
}
