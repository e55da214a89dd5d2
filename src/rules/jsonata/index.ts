import jsonata from 'jsonata';
import { ExpressionError, type CompiledExpression } from '../expression.js';
import { BAIL, compileFastPath } from './fast-path.js';

/**
 * Compiles a JSONata expression once. The common subset is compiled to synchronous closures
 * (see fast-path.ts), which return the same results as jsonata; everything else, and the rare
 * input that reaches jsonata behaviour the closures do not reproduce, uses jsonata's evaluator.
 */
export function compileJsonata(source: string): CompiledExpression {
  let expr: jsonata.Expression;
  try {
    expr = jsonata(source);
  } catch (err) {
    const e = err as { message?: string; position?: number; code?: string };
    throw new ExpressionError('jsonata', e.message ?? String(err), e.position);
  }
  const fast = compileFastPath(expr.ast());
  if (!fast) {
    return { language: 'jsonata', source, fast: false, evaluate: (input: unknown) => expr.evaluate(input) };
  }
  return {
    language: 'jsonata',
    source,
    fast: true,
    evaluate: (input: unknown) => {
      try {
        return fast(input);
      } catch (err) {
        if (err === BAIL) return expr.evaluate(input);
        throw err;
      }
    },
  };
}
