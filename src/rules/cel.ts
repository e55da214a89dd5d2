import { Environment, type ParseResult } from '@marcbachmann/cel-js';
import { celBudgetExceeded, celTick, DEFAULT_RULE_LIMITS, startCelBudget, type RuleLimits } from './budget.js';
import { ExpressionError, type CompiledExpression } from './expression.js';
import { re2Matches, re2Problem } from './re2.js';
import { CODES } from '../codes.js';

/** The variables a rule's CEL sees: the top-level fields of the Exchange. */
export const EXCHANGE_VARIABLES = ['request', 'response', 'client', 'gateway', 'operation'] as const;

/**
 * cel-js implements `string.matches` with JavaScript's backtracking RegExp and refuses a second
 * overload of it, so the member calls are renamed to this RE2-backed function before type checking.
 */
const RE2_MATCHES = 'matches_re2';

function createEnvironment(): Environment {
  const env = new Environment({ homogeneousAggregateLiterals: false });
  env.registerFunction(`string.${RE2_MATCHES}(string): bool`, re2MatchesChecked);
  env.registerFunction('matches(string, string): bool', re2MatchesChecked);
  return env;
}

function re2MatchesChecked(text: string, pattern: string): boolean {
  try {
    return re2Matches(text, pattern);
  } catch (err) {
    throw new Error(`invalid RE2 pattern ${JSON.stringify(pattern)}: ${re2Problem(pattern) ?? (err as Error).message}`);
  }
}

const environment = createEnvironment();
for (const name of EXCHANGE_VARIABLES) environment.registerVariable(name, 'map');

/** Webhook filters see one variable, `event`: the CloudEvent about to be delivered. */
const eventEnvironment = createEnvironment();
eventEnvironment.registerVariable('event', 'map');

export interface CompiledCel extends CompiledExpression<unknown> {
  /** The parsed AST, for reference checks against the spec's schemas. */
  readonly ast: unknown;
}

/** A literal `matches` pattern that RE2 cannot compile (backreferences, lookaround, ...). */
export class RegexSyntaxError extends ExpressionError {
  constructor(message: string, offset: number | undefined) {
    super('cel', message, offset, 'CEL regular expressions are RE2: no backreferences or lookaround.', CODES.celRegex);
  }
}

/** Parses and type-checks a CEL expression over the Exchange once. */
export function compileCel(source: string): CompiledCel {
  return compileIn(environment, source);
}

/** Parses and type-checks a CEL expression over `event` (a CloudEvent) once. */
export function compileEventCel(source: string): CompiledCel {
  return compileIn(eventEnvironment, source);
}

function compileIn(environment: Environment, source: string): CompiledCel {
  let parsed: ParseResult;
  try {
    parsed = environment.parse(source);
  } catch (err) {
    throw celError(err);
  }
  prepare(parsed.ast);
  const checked = parsed.check();
  if (!checked.valid) throw celError(checked.error);
  return {
    language: 'cel',
    source,
    ast: parsed.ast,
    evaluate: (input: unknown, limits: RuleLimits = DEFAULT_RULE_LIMITS) => {
      startCelBudget(limits);
      const result: unknown = parsed(input as Record<string, unknown>);
      const exceeded = celBudgetExceeded();
      if (exceeded) throw exceeded;
      return result;
    },
  };
}

/** A cel-js AST node (see cel-refs.ts); macros keep their expansion in `meta.alternate`. */
interface CelNode {
  op: string;
  args: unknown;
  start: number;
  meta?: { alternate?: unknown };
}

interface ComprehensionArgs {
  iterable: unknown;
  init: unknown;
  step: unknown;
  condition?: ((accu: unknown) => boolean) | undefined;
}

function isNode(v: unknown): v is CelNode {
  return typeof v === 'object' && v !== null && typeof (v as CelNode).op === 'string';
}

/**
 * Before type checking: routes `matches` to RE2 and refuses literal patterns RE2 cannot compile;
 * gives every comprehension (`all`, `exists`, `map`, `filter`, ...) a time check per iteration,
 * so nested loops over large bodies end at `limits.ruleTimeout`.
 */
function prepare(node: unknown, seen = new WeakSet<object>()): void {
  if (Array.isArray(node)) {
    for (const n of node) prepare(n, seen);
    return;
  }
  // A macro's expansion shares nodes with the call it came from: visit each once.
  if (!isNode(node) || seen.has(node)) return;
  seen.add(node);
  const args = node.args;
  if (node.op === 'rcall' && Array.isArray(args) && args[0] === 'matches') {
    checkPattern((args[2] as unknown[] | undefined)?.[0]);
    args[0] = RE2_MATCHES;
  } else if (node.op === 'call' && Array.isArray(args) && args[0] === 'matches') {
    checkPattern((args[1] as unknown[] | undefined)?.[1]);
  }
  if (node.op === 'comprehension' && args && typeof args === 'object') {
    const c = args as ComprehensionArgs;
    const condition = c.condition;
    c.condition = condition ? (accu) => (celTick(), condition(accu)) : () => (celTick(), true);
    prepare([c.iterable, c.init, c.step], seen);
  } else {
    prepare(args, seen);
  }
  prepare(node.meta?.alternate, seen);
}

function checkPattern(arg: unknown): void {
  if (!isNode(arg) || arg.op !== 'value' || typeof arg.args !== 'string') return;
  const problem = re2Problem(arg.args);
  if (problem) throw new RegexSyntaxError(`matches(): ${JSON.stringify(arg.args)} is not an RE2 pattern: ${problem}`, arg.start);
}

/** cel-js messages carry a source excerpt after the first line; keep the first line and the offset. */
function celError(err: unknown): ExpressionError {
  if (err instanceof ExpressionError) return err;
  const e = err as { summary?: string; message?: string; range?: { start: number }; node?: { start?: number } };
  const message = (e.summary ?? (e.message ?? String(err)).split('\n')[0]!.trim()).replaceAll(RE2_MATCHES, 'matches');
  return new ExpressionError('cel', message, e.range?.start ?? e.node?.start);
}
