/**
 * Which response statuses a rule's CEL `when` lets through, read from its syntax tree: the
 * comparisons of `response.status` with a number in the top-level `&&` chain
 * (`response.status == 201 && ...`, `response.status < 400`, `response.status in [200, 201]`).
 * Anything else says nothing about the status.
 */

interface CelNode {
  op: string;
  args: unknown;
}

export type StatusTest = (status: number) => boolean;

function isNode(v: unknown): v is CelNode {
  return typeof v === 'object' && v !== null && typeof (v as CelNode).op === 'string';
}

function isStatus(v: unknown): boolean {
  if (!isNode(v) || v.op !== '.' || !Array.isArray(v.args)) return false;
  const [object, field] = v.args as [unknown, unknown];
  return field === 'status' && isNode(object) && object.op === 'id' && object.args === 'response';
}

function literal(v: unknown): number | null {
  if (!isNode(v) || v.op !== 'value') return null;
  const n = v.args;
  return typeof n === 'bigint' || typeof n === 'number' ? Number(n) : null;
}

const MIRRORED: Record<string, string> = { '<': '>', '<=': '>=', '>': '<', '>=': '<=', '==': '==', '!=': '!=' };

function comparison(op: string, n: number): StatusTest | null {
  switch (op) {
    case '==': return (s) => s === n;
    case '!=': return (s) => s !== n;
    case '<': return (s) => s < n;
    case '<=': return (s) => s <= n;
    case '>': return (s) => s > n;
    case '>=': return (s) => s >= n;
    default: return null;
  }
}

function tests(node: unknown, out: StatusTest[]): void {
  if (!isNode(node) || !Array.isArray(node.args)) return;
  const [a, b] = node.args as [unknown, unknown];
  if (node.op === '&&') {
    tests(a, out);
    tests(b, out);
    return;
  }
  if (node.op === 'in' && isStatus(a) && isNode(b) && b.op === 'list' && Array.isArray(b.args)) {
    const values = (b.args as unknown[]).map(literal);
    if (values.every((v) => v !== null)) out.push((s) => values.includes(s));
    return;
  }
  const op = isStatus(a) ? node.op : isStatus(b) ? MIRRORED[node.op] : undefined;
  const n = literal(isStatus(a) ? b : a);
  const test = op !== undefined && n !== null ? comparison(op, n) : null;
  if (test) out.push(test);
}

/** The statuses `when` admits; null when it says nothing about them. */
export function statusTest(whenAst: unknown): StatusTest | null {
  const out: StatusTest[] = [];
  tests(whenAst, out);
  return out.length === 0 ? null : (s) => out.every((t) => t(s));
}

/** Whether a response key of the spec (`201`, `2XX`) holds a status the test admits. */
export function admits(code: string, test: StatusTest): boolean {
  const range = /^([1-5])XX$/i.exec(code);
  if (range) {
    const base = Number(range[1]) * 100;
    for (let s = base; s < base + 100; s++) if (test(s)) return true;
    return false;
  }
  return /^\d{3}$/.test(code) && test(Number(code));
}
