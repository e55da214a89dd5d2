/**
 * Location paths and predicates: jsonata's evaluatePath, evaluateStep and evaluateFilter,
 * made synchronous, plus a walk for the common all-names path that skips building
 * sequences while every value on the way is a plain object.
 */
import type { AstNode, Evaluator } from './ast.js';
import {
  BAIL,
  createSequence,
  isArrayOfNumbers,
  isFunction,
  isNumeric,
  isSequence,
  lookup,
  toBoolean,
  type Flagged,
  type Seq,
} from './runtime.js';

export type Compile = (node: AstNode) => Evaluator | null;

/** Indexable like jsonata indexes its inputs: arrays usually, but whatever a step produced. */
type Indexable = { length: number; [index: number]: unknown };

const hasOwn = Object.prototype.hasOwnProperty;

/** The tail of jsonata's evaluate(): sequences of 0 or 1 items collapse unless kept. */
export function collapse(result: unknown, keepArray: boolean): unknown {
  if (result && isSequence(result) && !result.tupleStream) {
    if (keepArray) result.keepSingleton = true;
    if (result.length === 0) return undefined;
    if (result.length === 1) return result.keepSingleton ? result : result[0];
  }
  return result;
}

/** evaluateFilter: one predicate `[...]` applied to a value or sequence. */
export function compileFilter(predicate: AstNode, compile: Compile): Evaluator | null {
  if (predicate.type === 'number') {
    const literal = Math.floor(predicate.value as number);
    return (input) => {
      let results: unknown = createSequence();
      if (input && (input as Flagged).tupleStream) (results as Seq).tupleStream = true;
      const items = (Array.isArray(input) ? input : createSequence(input)) as Seq;
      const index = literal < 0 ? items.length + literal : literal;
      const item = items[index];
      if (item !== undefined) {
        if (Array.isArray(item)) results = item;
        else (results as Seq).push(item);
      }
      return results;
    };
  }
  const test = compile(predicate);
  if (!test) return null;
  return (input, root) => {
    const results = createSequence();
    if (input && (input as Flagged).tupleStream) results.tupleStream = true;
    const items = (Array.isArray(input) ? input : createSequence(input)) as Seq;
    // Tuple streams evaluate predicates in a frame of bindings; leave those to jsonata.
    if (items.tupleStream && items.length > 0) throw BAIL;
    for (let index = 0; index < items.length; index++) {
      const item = items[index];
      let res = test(item, root);
      if (isNumeric(res)) res = [res];
      if (isArrayOfNumbers(res)) {
        res.forEach((ires) => {
          let ii = Math.floor(ires);
          if (ii < 0) ii = items.length + ii;
          if (ii === index) results.push(item);
        });
      } else if (toBoolean(res)) {
        results.push(item);
      }
    }
    return results;
  };
}

type Runner = (input: unknown, root: unknown) => unknown;

/** evaluateStep: maps one step over the input sequence and flattens the results. */
function stepRunner(evaluate: Evaluator, stages: Evaluator[], lastStep: boolean): Runner {
  return (input, root) => {
    const items = input as Indexable;
    const result = createSequence();
    for (let ii = 0; ii < items.length; ii++) {
      let res = evaluate(items[ii], root);
      for (const stage of stages) res = stage(res, root);
      if (res !== undefined) result.push(res);
    }
    if (lastStep && result.length === 1 && Array.isArray(result[0]) && !isSequence(result[0])) {
      return result[0];
    }
    const flattened = createSequence();
    result.forEach((res) => {
      if (!Array.isArray(res) || (res as Seq).cons) flattened.push(res);
      else res.forEach((val) => flattened.push(val));
    });
    return flattened;
  };
}

function isPlainName(step: AstNode): boolean {
  return step.type === 'name' && !step.keepArray && !step.stages && !step.predicate;
}

/** evaluatePath for a `path` node; the result still goes through `collapse`. */
export function compilePath(node: AstNode, compile: Compile): { evaluate: Evaluator; collapsed: boolean } | null {
  const steps = node.steps ?? [];
  if (steps.length === 0) return null;
  const runners: Runner[] = [];
  for (let ii = 0; ii < steps.length; ii++) {
    const step = steps[ii]!;
    const evaluate = compile(step);
    if (!evaluate) return null;
    if (ii === 0 && step.consarray) {
      runners.push(evaluate);
      continue;
    }
    const stages: Evaluator[] = [];
    for (const stage of step.stages ?? []) {
      const filter = compileFilter(stage.expr, compile);
      if (!filter) return null;
      stages.push(filter);
    }
    runners.push(stepRunner(evaluate, stages, ii === steps.length - 1));
  }
  const keepSingletonArray = node.keepSingletonArray === true;
  const runFrom = (start: number, sequence: unknown, root: unknown): unknown => {
    let inputSequence = sequence;
    let resultSequence: unknown;
    for (let ii = start; ii < runners.length; ii++) {
      resultSequence = runners[ii]!(inputSequence, root);
      // Reads .length even of null, as jsonata does (and so throws where it throws).
      if (resultSequence === undefined || (resultSequence as Indexable).length === 0) break;
      inputSequence = resultSequence;
    }
    if (keepSingletonArray) {
      if (Array.isArray(resultSequence) && (resultSequence as Seq).cons && !(resultSequence as Seq).sequence) {
        resultSequence = createSequence(resultSequence);
      }
      (resultSequence as Seq).keepSingleton = true;
    }
    return resultSequence;
  };

  const firstIsVariable = steps[0]!.type === 'variable';
  if (keepSingletonArray || node.keepArray || node.predicate || !steps.every(isPlainName)) {
    return {
      evaluate: (input, root) => runFrom(0, Array.isArray(input) && !firstIsVariable ? input : createSequence(input), root),
      collapsed: false,
    };
  }
  return { evaluate: namePath(steps.map((s) => s.value as string), runFrom), collapsed: true };
}

/**
 * `a.b.c`: while each value is a non-array object the generic algorithm reduces to field
 * access, so walk directly and hand over to it at the first array.
 */
function namePath(names: string[], runFrom: (start: number, seq: unknown, root: unknown) => unknown): Evaluator {
  const last = names.length - 1;
  return (input, root) => {
    if (Array.isArray(input)) return collapse(runFrom(0, input, root), false);
    let value = input;
    for (let ii = 0; ii <= last; ii++) {
      const name = names[ii]!;
      if (value === null || typeof value !== 'object' || !hasOwn.call(value, name) || isFunction(value)) {
        return undefined;
      }
      const next = (value as Record<string, unknown>)[name];
      if (Array.isArray(next)) {
        if (ii === last && (next as Seq).sequence !== true) return next;
        return collapse(runFrom(ii, createSequence(value), root), false);
      }
      if (next === undefined) return undefined;
      value = next;
    }
    return value;
  };
}
