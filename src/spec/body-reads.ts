import type { CompiledExpression } from '../rules/expression.js';

export type BodyPart = 'request' | 'response';

/**
 * Which bodies an expression reads (`request.body`, `response.body`), from its syntax tree: a
 * string literal that spells `response.body` is not a read. An expression that does not parse
 * reads nothing here (it was reported when the spec loaded). The syntax trees are the ones the
 * expressions were compiled from.
 */
export function bodiesRead(expression: CompiledExpression): BodyPart[] {
  const found = new Set<BodyPart>();
  if (expression.language === 'cel') walkCel((expression as { ast?: unknown }).ast, found);
  else walkJsonata(expression.ast ?? null, found);
  return [...found].sort();
}

interface Node {
  op?: unknown;
  args?: unknown;
  type?: unknown;
  steps?: unknown;
}

function isPart(name: unknown): name is BodyPart {
  return name === 'request' || name === 'response';
}

/** cel-js: member access is op '.' with args [object, 'field'], `x["field"]` is op '[]'. */
function walkCel(v: unknown, found: Set<BodyPart>): void {
  if (Array.isArray(v)) {
    for (const x of v) walkCel(x, found);
    return;
  }
  if (typeof v !== 'object' || v === null) return;
  const node = v as Node;
  if ((node.op === '.' || node.op === '[]') && Array.isArray(node.args)) {
    const [object, field] = node.args as [Node | undefined, unknown];
    const name = node.op === '.' ? field : (field as Node | undefined)?.op === 'value' ? (field as Node).args : undefined;
    if (object?.op === 'id' && isPart(object.args) && name === 'body') found.add(object.args);
  }
  walkCel(node.args, found);
}

/** jsonata: `response.body` is a path whose steps start (after an optional `$`) with the names response, body. */
function walkJsonata(v: unknown, found: Set<BodyPart>): void {
  if (Array.isArray(v)) {
    for (const x of v) walkJsonata(x, found);
    return;
  }
  if (typeof v !== 'object' || v === null) return;
  const node = v as Node & { value?: unknown };
  if (node.type === 'path' && Array.isArray(node.steps)) {
    const steps = node.steps as Array<Node & { value?: unknown }>;
    const start = steps[0]?.type === 'variable' && steps[0].value === '' ? 1 : 0;
    const [root, field] = [steps[start], steps[start + 1]];
    if (root?.type === 'name' && isPart(root.value) && field?.type === 'name' && field.value === 'body') found.add(root.value);
  }
  for (const [key, child] of Object.entries(node)) if (key !== 'type' && typeof child === 'object') walkJsonata(child, found);
}
