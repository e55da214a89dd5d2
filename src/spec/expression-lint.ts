import { CODES } from '../codes.js';
import type { Reporter } from './report.js';

/**
 * Warnings about rules that will run into their budgets (limits.ruleTimeout, limits.ruleDepth)
 * on some input, as far as the expression alone tells. Runtime budgets stop them either way;
 * these say so at load, where the rule is written.
 */

const COMPREHENSIONS = new Set(['all', 'exists', 'exists_one', 'map', 'filter']);
const DATA_ROOTS = ['request', 'response'];

interface CelNode {
  op: string;
  args: unknown;
  start: number;
}

function isCelNode(v: unknown): v is CelNode {
  return typeof v === 'object' && v !== null && typeof (v as CelNode).op === 'string';
}

/**
 * A comprehension inside another, both over request/response data: its cost is the product of
 * the sizes (3,000 items in 3,000 items is nine million steps for one exchange).
 */
export function lintCelComprehensions(ast: unknown, pointer: string, label: string, report: Reporter): void {
  walkCel(ast, new Set(DATA_ROOTS), false, (node, name) =>
    report.warn(CODES.nestedComprehension, pointer, `${label}: '${name}' runs inside another comprehension over request/response data, so its cost is the product of both sizes`, {
      offset: node.start,
      hint: 'Nested loops over a large body run into limits.ruleTimeout and make the exchange a dead letter; compute the inner set once (e.g. in data with JSONata) or test membership with `in`.',
    }));
}

function walkCel(v: unknown, dataNames: ReadonlySet<string>, inDataLoop: boolean, warn: (node: CelNode, name: string) => void): void {
  if (Array.isArray(v)) {
    for (const x of v) walkCel(x, dataNames, inDataLoop, warn);
    return;
  }
  if (!isCelNode(v)) return;
  const args = v.args;
  if (v.op === 'rcall' && Array.isArray(args) && COMPREHENSIONS.has(args[0] as string) && Array.isArray(args[2])) {
    const [name, receiver, callArgs] = args as [string, unknown, unknown[]];
    const overData = refersTo(receiver, dataNames);
    if (overData && inDataLoop) warn(v, name);
    walkCel(receiver, dataNames, inDataLoop, warn);
    const variable = callArgs[0];
    // The iteration variable of a loop over data is data too (`orders.exists(o, o.items.exists(...))`).
    const inner = overData && isCelNode(variable) && variable.op === 'id' ? new Set([...dataNames, String(variable.args)]) : dataNames;
    walkCel(callArgs.slice(1), inner, inDataLoop || overData, warn);
    return;
  }
  walkCel(args, dataNames, inDataLoop, warn);
}

function refersTo(v: unknown, names: ReadonlySet<string>): boolean {
  if (Array.isArray(v)) return v.some((x) => refersTo(x, names));
  if (!isCelNode(v)) return false;
  if (v.op === 'id') return names.has(String(v.args));
  return refersTo(v.args, names);
}

interface JsonataNode {
  type: string;
  value?: unknown;
  position?: number;
  thunk?: boolean;
  [field: string]: unknown;
}

function isJsonataNode(v: unknown): v is JsonataNode {
  return typeof v === 'object' && v !== null && typeof (v as JsonataNode).type === 'string';
}

/** `$f := function($x) { $f($x) }`: every call recurses, so it ends only at a budget. */
export function lintJsonataRecursion(ast: unknown, pointer: string, label: string, report: Reporter): void {
  forEachNode(ast, (node) => {
    if (node.type !== 'bind') return;
    const lhs = node.lhs as JsonataNode | undefined;
    const rhs = node.rhs as JsonataNode | undefined;
    if (lhs?.type !== 'variable' || rhs?.type !== 'lambda' || rhs.thunk) return;
    const name = String(lhs.value);
    const call = unconditionalCall(rhs.body, name);
    if (!call) return;
    report.warn(CODES.endlessRecursion, pointer, `${label}: function $${name} calls itself with no condition, so it never ends`, {
      // jsonata positions are where a token ends: `$name` starts name.length + 1 before it.
      offset: Math.max(0, ((call.procedure as JsonataNode).position ?? 0) - name.length - 1),
      hint: `Put the call to $${name} in a branch (\`cond ? … : $${name}(…)\`) that some input does not take; otherwise it stops only at limits.ruleTimeout or limits.ruleDepth.`,
    });
  });
}

function forEachNode(v: unknown, visit: (node: JsonataNode) => void): void {
  if (Array.isArray(v)) {
    for (const x of v) forEachNode(x, visit);
    return;
  }
  if (!isJsonataNode(v)) return;
  visit(v);
  for (const [key, child] of Object.entries(v)) if (key !== 'type' && typeof child === 'object') forEachNode(child, visit);
}

/**
 * A call to `$name` that runs whenever the body runs: not under a condition, the right side of
 * and/or, a later path step (it runs per item, and there may be none), or a nested function.
 */
function unconditionalCall(v: unknown, name: string): JsonataNode | null {
  if (Array.isArray(v)) {
    for (const x of v) {
      const found = unconditionalCall(x, name);
      if (found) return found;
    }
    return null;
  }
  if (!isJsonataNode(v)) return null;
  switch (v.type) {
    case 'function':
    case 'partial': {
      const procedure = v.procedure as JsonataNode | undefined;
      if (procedure?.type === 'variable' && procedure.value === name) return v;
      return unconditionalCall(v.arguments, name);
    }
    case 'lambda':
      // Tail calls are wrapped in thunks that run right away; a real nested function may never be called.
      return v.thunk ? unconditionalCall(v.body, name) : null;
    case 'condition':
      return unconditionalCall(v.condition, name);
    case 'binary':
      return v.value === 'and' || v.value === 'or' ? unconditionalCall(v.lhs, name) : unconditionalCall([v.lhs, v.rhs], name);
    case 'path':
      return unconditionalCall((v.steps as unknown[] | undefined)?.[0], name);
    case 'block':
      return unconditionalCall(v.expressions, name);
    case 'bind':
      return unconditionalCall(v.rhs, name);
    case 'apply':
      return unconditionalCall([v.lhs, v.rhs], name);
    case 'unary':
      return unconditionalCall(v.value === '{' ? v.lhs : (v.expressions ?? v.expression), name);
    default:
      return null;
  }
}
