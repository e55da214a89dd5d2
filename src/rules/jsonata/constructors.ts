/** Array `[...]` and object `{...}` constructors, as jsonata's evaluateUnary/evaluateGroupExpression. */
import type { AstNode, Evaluator } from './ast.js';
import type { Compile } from './path.js';
import { append, BAIL, createSequence, evalError, type Flagged } from './runtime.js';

const hasOwn = Object.prototype.hasOwnProperty;

export function compileArray(node: AstNode, compile: Compile): Evaluator | null {
  const items = node.expressions ?? [];
  const evaluators: Evaluator[] = [];
  for (const item of items) {
    const evaluate = compile(item);
    if (!evaluate) return null;
    evaluators.push(evaluate);
  }
  // A nested `[...]` is kept as one member; anything else is appended (arrays spliced in).
  const nested = items.map((item) => item.value === '[');
  const cons = node.consarray === true;
  return (input, root) => {
    const result: unknown[] = [];
    for (let ii = 0; ii < evaluators.length; ii++) {
      const value = evaluators[ii]!(input, root);
      if (value === undefined) continue;
      if (nested[ii] || !Array.isArray(value)) result.push(value);
      else for (let jj = 0; jj < value.length; jj++) result.push(value[jj]);
    }
    if (cons) Object.defineProperty(result, 'cons', { enumerable: false, configurable: false, value: true });
    return result;
  };
}

type Pair = [key: Evaluator, value: Evaluator];
interface Group {
  data: unknown;
  exprIndex: number;
}

const RESERVED = new Set(['_jsonata_lambda', '_jsonata_function']);

export function compileObject(node: AstNode, compile: Compile): Evaluator | null {
  const astPairs = node.lhs as [AstNode, AstNode][];
  const pairs: Pair[] = [];
  for (const [k, v] of astPairs) {
    const key = compile(k);
    const value = compile(v);
    if (!key || !value) return null;
    pairs.push([key, value]);
  }
  const grouped = groupEvaluator(pairs, node.position);

  // Literal, distinct, unreserved keys over one (non-array) context: no grouping can happen.
  const keys = astPairs.map(([k]) => (k.type === 'string' && !k.predicate && !k.keepArray ? k.value : undefined));
  const literal =
    keys.every((k) => typeof k === 'string' && !RESERVED.has(k)) && new Set(keys).size === keys.length;
  if (!literal) return grouped;
  const names = keys as string[];
  const values = pairs.map(([, value]) => value);
  return (input, root) => {
    if (Array.isArray(input) || (input && (input as Flagged).tupleStream)) return grouped(input, root);
    const result = Object.create(null) as Record<string, unknown>;
    for (let ii = 0; ii < values.length; ii++) {
      const value = values[ii]!(input, root);
      if (value !== undefined) result[names[ii]!] = value;
    }
    return result;
  };
}

/** The general case: keys evaluated per input item, items with the same key grouped. */
function groupEvaluator(pairs: Pair[], position: number | undefined): Evaluator {
  return (input, root) => {
    // Reducing a tuple stream needs jsonata's binding frames; leave it to jsonata.
    if (input && (input as Flagged).tupleStream) throw BAIL;
    const items = (Array.isArray(input) ? input : createSequence(input)) as unknown[];
    // jsonata pushes into the input array itself here; kept for identical results.
    if (items.length === 0) items.push(undefined);
    const groups = Object.create(null) as Record<string, Group>;
    for (const item of items) {
      for (let pairIndex = 0; pairIndex < pairs.length; pairIndex++) {
        const key = pairs[pairIndex]![0](item, root);
        if (typeof key !== 'string' && key !== undefined) throw evalError('T1003', { position, value: key });
        if (key === undefined) continue;
        if (RESERVED.has(key)) throw evalError('D1013', { position, value: key });
        if (hasOwn.call(groups, key)) {
          if (groups[key]!.exprIndex !== pairIndex) throw evalError('D1009', { position, value: key });
          groups[key]!.data = append(groups[key]!.data, item);
        } else {
          groups[key] = { data: item, exprIndex: pairIndex };
        }
      }
    }
    const result = Object.create(null) as Record<string, unknown>;
    for (const key of Object.keys(groups)) {
      const entry = groups[key]!;
      const value = pairs[entry.exprIndex]![1](entry.data, root);
      if (value !== undefined) result[key] = value;
    }
    return result;
  };
}
