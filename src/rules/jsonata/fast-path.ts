/**
 * Compiles the common subset of jsonata 2.x to synchronous closures over its AST.
 *
 * jsonata's own evaluator is async end to end (an await per AST node), which is what makes
 * it slow on the hot path. The closures here follow its algorithm node for node, including
 * sequence flags and error codes, so results are the same objects jsonata would build.
 * Anything outside the subset makes the compiler return null and the caller uses jsonata.
 */
import { hasOnlyKnownKeys, type AstNode, type Evaluator } from './ast.js';
import { compileArray, compileObject } from './constructors.js';
import { BINARY_OPERATORS } from './operators.js';
import { collapse, compileFilter, compilePath } from './path.js';
import {
  createSequence,
  evalError,
  isNumeric,
  isSequence,
  JsonataEvalError,
  lookup,
  toBoolean,
  type Flagged,
} from './runtime.js';

export { BAIL } from './runtime.js';

/**
 * Evaluates a compiled expression against an input document. May throw BAIL for inputs that
 * reach jsonata behaviour not reproduced here; the caller then evaluates with jsonata.
 */
export type FastPath = (input: unknown) => unknown;

/** Returns a synchronous evaluator for `ast`, or null when it uses anything outside the subset. */
export function compileFastPath(ast: unknown): FastPath | null {
  let evaluate: Evaluator | null;
  try {
    evaluate = compileNode(ast as AstNode);
  } catch {
    return null; // an AST shape this code does not expect: jsonata knows best
  }
  if (!evaluate) return null;
  const run = evaluate;
  return (input) => {
    // jsonata wraps a top-level array so that it is treated as one context item.
    if (Array.isArray(input) && !isSequence(input)) {
      const wrapped = createSequence(input);
      wrapped.outerWrapper = true;
      return run(wrapped, input);
    }
    return run(input, input);
  };
}

function compileNode(node: AstNode): Evaluator | null {
  if (node === null || typeof node !== 'object' || !hasOnlyKnownKeys(node)) return null;
  switch (node.type) {
    case 'path': {
      const path = compilePath(node, compileNode);
      if (!path) return null;
      return path.collapsed ? path.evaluate : finish(node, path.evaluate, true);
    }
    case 'name': {
      const name = node.value as string;
      return finish(node, (input) => lookup(input, name), true);
    }
    case 'string':
    case 'number':
    case 'value': {
      const value = node.value;
      return finish(node, () => value, false);
    }
    case 'variable':
      return finish(node, compileVariable(node), true);
    case 'binary':
      return finish(node, compileBinary(node), false);
    case 'unary':
      return finish(node, compileUnary(node), false);
    case 'condition':
      return finish(node, compileCondition(node), true);
    case 'block':
      return finish(node, compileBlock(node), true);
    default:
      return null;
  }
}

/**
 * The rest of jsonata's evaluate(): predicates, then collapsing singleton sequences.
 * `mayBeSequence` is false for nodes whose own result can never be a sequence.
 */
function finish(node: AstNode, base: Evaluator | null, mayBeSequence: boolean): Evaluator | null {
  if (!base) return null;
  const filters: Evaluator[] = [];
  for (const predicate of node.predicate ?? []) {
    const filter = compileFilter(predicate.expr, compileNode);
    if (!filter) return null;
    filters.push(filter);
  }
  const keepArray = node.keepArray === true;
  if (filters.length === 0) {
    return mayBeSequence ? (input, root) => collapse(base(input, root), keepArray) : base;
  }
  return (input, root) => {
    let result = base(input, root);
    for (const filter of filters) result = filter(result, root);
    return collapse(result, keepArray);
  };
}

function compileVariable(node: AstNode): Evaluator | null {
  if (node.value === '') {
    return (input) => (input && (input as Flagged).outerWrapper ? (input as Record<number, unknown>)[0] : input);
  }
  if (node.value === '$') return (_input, root) => root;
  return null; // named variables are built-in functions or bindings: jsonata's business
}

function compileBinary(node: AstNode): Evaluator | null {
  const op = node.value as string;
  const lhs = compileNode(node.lhs as AstNode);
  const rhs = node.rhs ? compileNode(node.rhs) : null;
  if (!lhs || !rhs) return null;
  const located = { position: node.position, token: op };
  if (op === 'and' || op === 'or') {
    const isAnd = op === 'and';
    return (input, root) => {
      const left = lhs(input, root);
      try {
        const l = toBoolean(left) ?? false;
        if (isAnd ? !l : l) return l;
        return toBoolean(rhs(input, root)) ?? false;
      } catch (err) {
        throw err instanceof JsonataEvalError ? err.locate(located) : err;
      }
    };
  }
  if (!Object.prototype.hasOwnProperty.call(BINARY_OPERATORS, op)) return null;
  const apply = BINARY_OPERATORS[op]!;
  return (input, root) => {
    const left = lhs(input, root);
    const right = rhs(input, root);
    try {
      return apply(left, right);
    } catch (err) {
      throw err instanceof JsonataEvalError ? err.locate(located) : err;
    }
  };
}

function compileUnary(node: AstNode): Evaluator | null {
  switch (node.value) {
    case '[':
      return compileArray(node, compileNode);
    case '{':
      return compileObject(node, compileNode);
    case '-': {
      const operand = node.expression ? compileNode(node.expression) : null;
      if (!operand) return null;
      return (input, root) => {
        const value = operand(input, root);
        if (value === undefined) return undefined;
        if (isNumeric(value)) return -value;
        throw evalError('D1002', { position: node.position, token: '-', value });
      };
    }
    default:
      return null;
  }
}

function compileCondition(node: AstNode): Evaluator | null {
  const condition = node.condition ? compileNode(node.condition) : null;
  const then = node.then ? compileNode(node.then) : null;
  const otherwise = node.else === undefined ? undefined : compileNode(node.else);
  if (!condition || !then || otherwise === null) return null;
  return (input, root) => {
    if (toBoolean(condition(input, root))) return then(input, root);
    return otherwise ? otherwise(input, root) : undefined;
  };
}

function compileBlock(node: AstNode): Evaluator | null {
  const expressions: Evaluator[] = [];
  for (const expression of node.expressions ?? []) {
    const evaluate = compileNode(expression);
    if (!evaluate) return null;
    expressions.push(evaluate);
  }
  if (expressions.length === 1) return expressions[0]!;
  return (input, root) => {
    let result: unknown;
    for (const evaluate of expressions) result = evaluate(input, root);
    return result;
  };
}
