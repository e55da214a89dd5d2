import { Environment, type ParseResult } from '@marcbachmann/cel-js';
import { ExpressionError, type CompiledExpression } from './expression.js';

/** The variables a rule's CEL sees: the top-level fields of the Exchange. */
export const EXCHANGE_VARIABLES = ['request', 'response', 'client', 'gateway', 'operation'] as const;

const environment = new Environment({ homogeneousAggregateLiterals: false });
for (const name of EXCHANGE_VARIABLES) environment.registerVariable(name, 'map');

/** Webhook filters see one variable, `event`: the CloudEvent about to be delivered. */
const eventEnvironment = new Environment({ homogeneousAggregateLiterals: false });
eventEnvironment.registerVariable('event', 'map');

export interface CompiledCel extends CompiledExpression<unknown> {
  /** The parsed AST, for reference checks against the spec's schemas. */
  readonly ast: unknown;
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
  const checked = environment.check(source);
  if (!checked.valid) throw celError(checked.error);
  return {
    language: 'cel',
    source,
    ast: parsed.ast,
    evaluate: (input: unknown) => parsed(input as Record<string, unknown>),
  };
}

/** cel-js messages carry a source excerpt after the first line; keep the first line and the offset. */
function celError(err: unknown): ExpressionError {
  const e = err as { summary?: string; message?: string; range?: { start: number }; node?: { start?: number } };
  const message = e.summary ?? (e.message ?? String(err)).split('\n')[0]!.trim();
  return new ExpressionError('cel', message, e.range?.start ?? e.node?.start);
}
