import jsonata from 'jsonata';
import { BudgetExceeded, DEFAULT_RULE_LIMITS, type RuleLimits } from '../budget.js';
import { ExpressionError, type CompiledExpression } from '../expression.js';
import { BAIL, compileFastPath } from './fast-path.js';
import { Re2RegExp, re2Problem } from '../re2.js';

/**
 * Compiles a JSONata expression once. The common subset is compiled to synchronous closures
 * (see fast-path.ts), which return the same results as jsonata; everything else, and the rare
 * input that reaches jsonata behaviour the closures do not reproduce, uses jsonata's evaluator.
 *
 * Only jsonata's evaluator can loop (recursive functions); it runs with jsonata's own guardrails,
 * `timeout` and `stack`, set from the rule limits. The closures are bounded by the input's size.
 */
export function compileJsonata(source: string): CompiledExpression {
  // jsonata reads these per evaluation; every evaluation of a process has the same limits.
  // RegexEngine: regular expressions in rules run on RE2 (linear time), as CEL's `matches` does.
  const guardrails = { timeout: DEFAULT_RULE_LIMITS.timeoutMs, stack: DEFAULT_RULE_LIMITS.maxDepth, RegexEngine: Re2RegExp as unknown as RegExpConstructor };
  let expr: jsonata.Expression;
  try {
    expr = jsonata(source, guardrails);
  } catch (err) {
    const e = err as { message?: string; position?: number; code?: string };
    throw new ExpressionError('jsonata', e.message ?? String(err), e.position);
  }
  checkRegexes(expr.ast());
  const general = (input: unknown, limits: RuleLimits): Promise<unknown> => {
    guardrails.timeout = limits.timeoutMs;
    guardrails.stack = limits.maxDepth;
    return expr.evaluate(input).catch(budgetError);
  };
  const ast = expr.ast();
  const fast = compileFastPath(ast);
  if (!fast) {
    return { language: 'jsonata', source, ast, fast: false, evaluate: (input: unknown, limits = DEFAULT_RULE_LIMITS) => general(input, limits) };
  }
  return {
    language: 'jsonata',
    source,
    ast,
    fast: true,
    evaluate: (input: unknown, limits = DEFAULT_RULE_LIMITS) => {
      try {
        return fast(input);
      } catch (err) {
        if (err === BAIL) return general(input, limits);
        throw err;
      }
    },
  };
}

/** jsonata's guardrail errors (D1011 stack, D1012 timeout) name the budget that stopped the rule. */
function budgetError(err: unknown): never {
  const e = err as { code?: string; value?: unknown } | null;
  if (e?.code === 'D1012') throw new BudgetExceeded('ruleTimeout', `ran longer than limits.ruleTimeout (${String(e.value)} ms)`);
  if (e?.code === 'D1011') {
    throw new BudgetExceeded('ruleDepth', `nested deeper than limits.ruleDepth (${String(e.value)}); a recursive function that never ends?`);
  }
  throw err;
}

/** A regex literal RE2 cannot compile (backreferences, lookaround) is refused when the spec loads, not per exchange. */
function checkRegexes(node: unknown): void {
  if (Array.isArray(node)) {
    for (const n of node) checkRegexes(n);
    return;
  }
  if (node === null || typeof node !== 'object') return;
  const n = node as { type?: string; value?: unknown; position?: number };
  if (n.type === 'regex' && n.value instanceof RegExp) {
    const problem = re2Problem(n.value.source);
    if (problem) throw new ExpressionError('jsonata', `regular expression /${n.value.source}/ is not RE2 syntax (${problem}); rules use RE2, which runs in linear time`, n.position);
  }
  for (const value of Object.values(n)) if (value !== null && typeof value === 'object' && !(value instanceof RegExp)) checkRegexes(value);
}
