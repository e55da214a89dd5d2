import { Environment } from '@marcbachmann/cel-js';
import { compileCel, EXCHANGE_VARIABLES, RegexSyntaxError, type CompiledCel } from '../rules/cel.js';
import { ExpressionError, type CompiledExpression } from '../rules/expression.js';
import { compileJsonata } from '../rules/jsonata/index.js';
import { CODES } from '../codes.js';
import { lintCelComprehensions, lintJsonataRecursion } from './expression-lint.js';
import type { Reporter } from './report.js';
import { didYouMean } from './suggest.js';

/** Compiles a CEL annotation value; on failure reports it at the offending character and returns null. */
export function compileCelAt(source: string, pointer: string, label: string, report: Reporter): CompiledCel | null {
  try {
    const compiled = compileCel(source);
    lintCelComprehensions(compiled.ast, pointer, label, report);
    return compiled;
  } catch (err) {
    if (!(err instanceof ExpressionError)) throw err;
    const problem = classifyCel(err, source);
    report.error(problem.code, pointer, `${label}: ${problem.message}`, { offset: problem.offset, hint: problem.hint ?? err.hint });
    return null;
  }
}

export function compileJsonataAt(source: string, pointer: string, label: string, report: Reporter): CompiledExpression | null {
  try {
    const compiled = compileJsonata(source);
    lintJsonataRecursion(compiled.ast, pointer, label, report);
    return compiled;
  } catch (err) {
    if (!(err instanceof ExpressionError)) throw err;
    report.error(CODES.jsonataSyntax, pointer, `${label}: invalid JSONata: ${err.message}`, { offset: err.offset ?? 0, hint: err.hint });
    return null;
  }
}

let celFunctions: Set<string> | undefined;

/** Names of the standard CEL functions and macros, for "did you mean". */
function knownCelFunctions(): Set<string> {
  if (!celFunctions) {
    const defs = new Environment().getDefinitions() as { functions: Array<{ name: string }> };
    celFunctions = new Set(defs.functions.map((f) => f.name));
    for (const macro of ['has', 'all', 'exists', 'exists_one', 'map', 'filter']) celFunctions.add(macro);
  }
  return celFunctions;
}

interface CelProblem {
  code: (typeof CODES)['celSyntax' | 'celUnknownFunction' | 'celUnknownVariable' | 'celType' | 'celRegex'];
  message: string;
  offset: number;
  hint?: string | undefined;
}

/**
 * cel-js reports type errors at the start of the whole call; point at the function's name
 * instead and say whether the function exists at all.
 */
function classifyCel(err: ExpressionError, source: string): CelProblem {
  const offset = err.offset ?? 0;
  if (err instanceof RegexSyntaxError) return { code: CODES.celRegex, message: err.message, offset, hint: err.hint };
  const variable = /^Unknown variable: (\w+)/.exec(err.message);
  if (variable) {
    const name = variable[1]!;
    return {
      code: CODES.celUnknownVariable,
      message: `unknown variable '${name}' (rules see ${EXCHANGE_VARIABLES.join(', ')})`,
      offset,
      hint: didYouMean(name, EXCHANGE_VARIABLES),
    };
  }
  const overload = /no matching overload for '(?:[\w.<>, ]+\.)?(\w+)\(/.exec(err.message);
  if (overload) {
    const name = overload[1]!;
    const at = findCall(source, name, offset);
    if (!knownCelFunctions().has(name)) {
      return { code: CODES.celUnknownFunction, message: `unknown CEL function '${name}'`, offset: at, hint: didYouMean(name, knownCelFunctions()) };
    }
    return { code: CODES.celType, message: `CEL: ${err.message}`, offset: at };
  }
  if (/overload|must have the same type|type/i.test(err.message) && !/^Unexpected|^Expected|Unterminated/.test(err.message)) {
    return { code: CODES.celType, message: `CEL: ${err.message}`, offset };
  }
  return { code: CODES.celSyntax, message: `invalid CEL: ${err.message}`, offset };
}

function findCall(source: string, name: string, from: number): number {
  const re = new RegExp(`(^|[^\\w])${name}\\s*\\(`, 'g');
  re.lastIndex = from;
  const m = re.exec(source);
  return m ? m.index + m[1]!.length : from;
}
