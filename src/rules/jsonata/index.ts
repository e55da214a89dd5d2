import jsonata from 'jsonata';
import { ExpressionError, type CompiledExpression } from '../expression.js';

/**
 * Compiles a JSONata expression once. The common subset is compiled to plain functions
 * elsewhere (see fast-path); everything else falls back to the jsonata evaluator.
 */
export function compileJsonata(source: string): CompiledExpression {
  let expr: jsonata.Expression;
  try {
    expr = jsonata(source);
  } catch (err) {
    const e = err as { message?: string; position?: number; code?: string };
    throw new ExpressionError('jsonata', e.message ?? String(err), e.position);
  }
  return {
    language: 'jsonata',
    source,
    evaluate: (input: unknown) => expr.evaluate(input),
  };
}
