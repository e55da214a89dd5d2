/**
 * Types a JSONata expression (its processed AST, as the rule compiler keeps it) over the type of
 * its input, following jsonata's evaluation rules: a path maps over arrays and flattens them, a
 * sequence of one value collapses to that value, an absent field is no value at all (and an
 * object constructor then leaves its key out). What is beyond inference (named variables,
 * lambdas, grouping, unknown functions ...) is typed `{}` and listed in `untyped`.
 */
import { hasOnlyKnownKeys, type AstNode } from '../rules/jsonata/ast.js';
import { FUNCTION_TYPES } from './functions.js';
import {
  alternatives,
  ANY,
  arrayOf,
  BOOLEAN,
  INTEGER,
  isNever,
  NULL,
  NUMBER,
  STRING,
  union,
  type T,
  type Typed,
} from './types.js';

/** A part of the expression that could not be typed: where it starts (0-based) and what it is. */
export interface Untyped {
  offset: number;
  what: string;
}

export interface Inferred {
  result: Typed;
  untyped: Untyped[];
}

/** `root` is the type of the input (`$$`, and the context at the top). */
export function inferJsonata(ast: unknown, root: T): Inferred {
  const inference = new Inference(root);
  const result = inference.node(ast as AstNode, root);
  return { result, untyped: inference.untyped };
}

interface Step extends Typed {
  /** The value may be a sequence of several items (it went through an array). */
  many: boolean;
}

const UNKNOWN: Typed = { t: ANY, optional: true };

class Inference {
  untyped: Untyped[] = [];
  constructor(private readonly root: T) {}

  node(n: AstNode, ctx: T): Typed {
    if (n === null || typeof n !== 'object') return UNKNOWN;
    if (n.type === 'function') return this.filtered(n, this.call(n as FunctionNode, ctx));
    if (!hasOnlyKnownKeys(n)) return this.unknown(n);
    return this.filtered(n, this.base(n, ctx));
  }

  private base(n: AstNode, ctx: T): Typed {
    switch (n.type) {
      case 'path':
        return this.path(n, ctx);
      case 'name': {
        const step = lookup(ctx, n.value as string);
        return collapse(step, false);
      }
      case 'string':
        return { t: { k: 'scalar', type: 'string', schema: { type: 'string', const: n.value } }, optional: false };
      case 'number': {
        const type = Number.isInteger(n.value) ? 'integer' : 'number';
        return { t: { k: 'scalar', type, schema: { type, const: n.value } }, optional: false };
      }
      case 'value':
        if (n.value === null) return { t: NULL, optional: false };
        return { t: { k: 'scalar', type: 'boolean', schema: { type: 'boolean', const: n.value } }, optional: false };
      case 'variable':
        if (n.value === '') return { t: ctx, optional: false };
        if (n.value === '$') return { t: this.root, optional: false };
        return this.unknown(n);
      case 'binary':
        return this.binary(n, ctx);
      case 'unary':
        return this.unary(n, ctx);
      case 'condition': {
        this.quiet(() => this.node(n.condition!, ctx));
        const then = this.node(n.then!, ctx);
        const otherwise = n.else ? this.node(n.else, ctx) : null;
        return { t: union(otherwise ? [then.t, otherwise.t] : [then.t]), optional: then.optional || (otherwise?.optional ?? true) };
      }
      case 'block': {
        const expressions = n.expressions ?? [];
        const last = expressions[expressions.length - 1];
        return last ? this.node(last, ctx) : { t: union([]), optional: true };
      }
      default:
        return this.unknown(n);
    }
  }

  private path(n: AstNode, ctx: T): Typed {
    const steps = n.steps ?? [];
    let items = ctx;
    let many = false;
    let optional = false;
    for (let i = 0; i < steps.length; i++) {
      const step = steps[i]!;
      const last = i === steps.length - 1;
      let value: Step;
      if (step.type === 'name' && hasOnlyKnownKeys(step)) {
        value = lookup(items, step.value as string);
      } else {
        const { stages, ...bare } = step;
        void stages;
        value = { ...this.node(bare as AstNode, items), many: false };
      }
      for (const stage of step.stages ?? []) value = filterStep(value, stage.expr, this);
      // An array constructor's result stays one item; other arrays are spliced into the sequence,
      // except the one array a single item's last step gives (jsonata returns that as it is).
      const cons = step.type === 'unary' && step.value === '[';
      if (!cons && !(last && !many && !value.many)) {
        const alts = alternatives(value.t);
        if (alts.some((a) => a.k === 'array')) {
          value = { ...value, t: union(alts.map((a) => (a.k === 'array' ? a.items : a))), many: true };
        }
      }
      items = value.t;
      many = many || value.many;
      optional = optional || value.optional;
    }
    if (n.keepSingletonArray) return { t: arrayOf(items), optional: optional || many };
    return collapse({ t: items, optional, many }, false);
  }

  private binary(n: AstNode, ctx: T): Typed {
    const op = n.value as string;
    const operands = (): [Typed, Typed] => [this.node(n.lhs as AstNode, ctx), this.node(n.rhs!, ctx)];
    switch (op) {
      case '+':
      case '-':
      case '*':
      case '%':
      case '/': {
        const [l, r] = operands();
        const integer = op !== '/' && isInteger(l.t) && isInteger(r.t);
        return { t: integer ? INTEGER : NUMBER, optional: l.optional || r.optional };
      }
      case '&':
        this.quiet(operands);
        return { t: STRING, optional: false };
      case '=':
      case '!=':
      case 'and':
      case 'or':
      case 'in':
        this.quiet(operands);
        return { t: BOOLEAN, optional: false };
      case '<':
      case '<=':
      case '>':
      case '>=': {
        const [l, r] = this.quiet(operands);
        return { t: BOOLEAN, optional: l.optional || r.optional };
      }
      case '..': {
        const [l, r] = this.quiet(operands);
        return { t: arrayOf(INTEGER), optional: l.optional || r.optional };
      }
      default:
        return this.unknown(n);
    }
  }

  private unary(n: AstNode, ctx: T): Typed {
    switch (n.value) {
      case '-': {
        const operand = this.node(n.expression!, ctx);
        return { t: isInteger(operand.t) ? INTEGER : NUMBER, optional: operand.optional };
      }
      case '[': {
        const items: T[] = [];
        for (const expression of n.expressions ?? []) {
          const v = this.node(expression, ctx);
          const nested = expression.type === 'unary' && expression.value === '[';
          items.push(nested ? v.t : union(alternatives(v.t).map((a) => (a.k === 'array' ? a.items : a))));
        }
        return { t: arrayOf(union(items)), optional: false };
      }
      case '{':
        return { t: this.object(n.lhs as [AstNode, AstNode][], ctx), optional: false };
      default:
        return this.unknown(n);
    }
  }

  private object(pairs: [AstNode, AstNode][], ctx: T): T {
    const props = new Map<string, { t: T; required: boolean }>();
    const others: T[] = [];
    for (const [key, value] of pairs) {
      const v = this.node(value, ctx);
      if (key.type === 'string' && !key.predicate && !key.keepArray) {
        if (!isNever(v.t)) props.set(String(key.value), { t: v.t, required: !v.optional });
      } else {
        this.quiet(() => this.node(key, ctx));
        others.push(v.t);
      }
    }
    // Computed keys: any name, with one of the values.
    return { k: 'object', props, additional: others.length > 0 ? union(others) : false };
  }

  private call(n: FunctionNode, ctx: T): Typed {
    const procedure = n.procedure;
    const signature = procedure?.type === 'variable' ? FUNCTION_TYPES[procedure.value as string] : undefined;
    if (!signature || !Object.hasOwn(FUNCTION_TYPES, procedure!.value as string)) return this.unknown(n);
    // A function given no argument reads the context, as jsonata does ($string() is $string($)).
    const args = (n.arguments ?? []).map((a) => this.node(a, ctx));
    return signature(args.length > 0 ? args : [{ t: ctx, optional: false }]);
  }

  /** Predicates on any node: `expr[...]`. */
  private filtered(n: AstNode, value: Typed): Typed {
    if (n.type === 'path' || !n.predicate || n.predicate.length === 0) return value;
    let step: Step = { ...value, many: false };
    for (const p of n.predicate) step = filterStep(step, p.expr, this);
    return collapse(step, n.keepArray === true);
  }

  /** Types inside a part whose own type does not matter (a condition, a comparison): no warnings from there. */
  quiet<R>(run: () => R): R {
    const before = this.untyped.length;
    const result = run();
    this.untyped.length = before;
    return result;
  }

  private unknown(n: AstNode): Typed {
    this.untyped.push(describe(n));
    return UNKNOWN;
  }
}

interface FunctionNode extends AstNode {
  procedure?: AstNode;
  arguments?: AstNode[];
}

/** `[...]` after a step: the elements it keeps, possibly none; an index keeps one. */
function filterStep(value: Step, predicate: AstNode, inference: Inference): Step {
  const index = predicate.type === 'number';
  if (!index) inference.quiet(() => inference.node(predicate, ANY));
  const elements = union(alternatives(value.t).map((a) => (a.k === 'array' ? a.items : a)));
  return { t: elements, optional: true, many: value.many || !index };
}

/** A sequence of one collapses to its item, of none to no value. */
function collapse(step: Step, keepArray: boolean): Typed {
  if (keepArray) return { t: arrayOf(step.t), optional: step.optional };
  if (!step.many) return { t: step.t, optional: step.optional };
  return { t: union([step.t, arrayOf(step.t)]), optional: true };
}

/** jsonata's lookup: a field of an object, mapped (and flattened one level) over arrays. */
function lookup(t: T, name: string): Step {
  const found: T[] = [];
  let optional = false;
  let many = false;
  for (const a of alternatives(t)) {
    if (a.k === 'any') {
      found.push(ANY);
      optional = true;
    } else if (a.k === 'object') {
      const prop = a.props.get(name);
      if (prop) {
        found.push(prop.t);
        optional ||= !prop.required;
      } else {
        if (a.additional !== false) found.push(a.additional);
        optional = true;
      }
    } else if (a.k === 'array') {
      const inner = lookup(a.items, name);
      found.push(union(alternatives(inner.t).map((x) => (x.k === 'array' ? x.items : x))));
      many = true;
      optional = true;
    } else {
      optional = true;
    }
  }
  return { t: union(found), optional: optional || found.length === 0, many };
}

function isInteger(t: T): boolean {
  const alts = alternatives(t);
  return alts.length > 0 && alts.every((a) => a.k === 'scalar' && a.type === 'integer');
}

const DESCRIPTIONS: Record<string, string> = {
  regex: 'a regular expression',
  lambda: 'a function definition',
  partial: 'a partial function application',
  sort: 'a sort (^(…))',
  apply: 'a function chain (~>)',
  bind: 'a variable binding (:=)',
  transform: 'a transform (|…|…|)',
  wildcard: 'a wildcard (*)',
  descendant: 'a descendant wildcard (**)',
  parent: 'a parent step (%)',
};

/** What the sub-expression is, and where it starts (jsonata positions are where a token ends). */
function describe(n: AstNode): Untyped {
  const node = n as FunctionNode & Record<string, unknown>;
  const end = typeof n.position === 'number' ? n.position : 1;
  if (n.type === 'function' && node.procedure?.type === 'variable') {
    const name = String(node.procedure.value);
    return { offset: Math.max(0, (node.procedure.position ?? end) - name.length - 1), what: `the call $${name}(…)` };
  }
  if (n.type === 'variable') return { offset: Math.max(0, end - String(n.value).length - 1), what: `the variable $${String(n.value)}` };
  if (node.group) return { offset: Math.max(0, ((node.group as AstNode).position ?? end) - 1), what: 'a grouping ({…} after a path)' };
  if (node.focus !== undefined || node.index !== undefined || node.tuple) return { offset: Math.max(0, end - 1), what: 'a positional or context binding (@, #)' };
  return { offset: Math.max(0, end - 1), what: DESCRIPTIONS[n.type] ?? `a ${n.type} expression` };
}
