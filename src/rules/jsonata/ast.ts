/** The parts of jsonata 2.x's processed AST (`jsonata(src).ast()`) that the fast path reads. */
export interface AstNode {
  type: string;
  value?: unknown;
  position?: number;
  keepArray?: boolean;
  consarray?: boolean;
  keepSingletonArray?: boolean;
  predicate?: AstFilter[];
  stages?: AstFilter[];
  steps?: AstNode[];
  lhs?: AstNode | [AstNode, AstNode][];
  rhs?: AstNode;
  expression?: AstNode;
  expressions?: AstNode[];
  condition?: AstNode;
  then?: AstNode;
  else?: AstNode;
}

export interface AstFilter {
  type: string;
  expr: AstNode;
  position?: number;
}

/** A compiled node: jsonata's `evaluate(expr, input, env)` with `$$` passed as `root`. */
export type Evaluator = (input: unknown, root: unknown) => unknown;

const COMMON = ['type', 'value', 'position', 'keepArray', 'consarray', 'predicate', 'stages'];
const EXTRA: Record<string, string[]> = {
  path: ['steps', 'keepSingletonArray'],
  binary: ['lhs', 'rhs'],
  unary: ['lhs', 'expression', 'expressions'],
  condition: ['condition', 'then', 'else'],
  block: ['expressions'],
};

/**
 * True when the node carries only properties the fast path knows. Anything else (group-by,
 * tuple bindings such as `@`/`#`, parent `%` ancestry, sort) changes evaluation, so an
 * unknown key means "fall back" rather than "ignore".
 */
export function hasOnlyKnownKeys(node: AstNode): boolean {
  const extra = EXTRA[node.type];
  for (const key of Object.keys(node)) {
    if (!COMMON.includes(key) && !(extra?.includes(key) ?? false)) return false;
  }
  for (const filter of [...(node.predicate ?? []), ...(node.stages ?? [])]) {
    if (filter.type !== 'filter') return false;
    if (Object.keys(filter).some((k) => k !== 'type' && k !== 'expr' && k !== 'position')) return false;
  }
  return true;
}
