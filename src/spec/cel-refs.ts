import { CODES } from '../codes.js';
import type { OperationShape } from './op-shape.js';
import type { Reporter } from './report.js';
import { itemsOf, lookupProperty } from './schema-props.js';
import { didYouMean, listOf } from './suggest.js';

/** The fixed shape of the Exchange (DESIGN.md "Exchange"): a field outside it is always a mistake. */
export const EXCHANGE_FIELDS: Record<string, readonly string[]> = {
  request: ['id', 'time', 'method', 'scheme', 'host', 'path', 'query', 'headers', 'body', 'route', 'params'],
  response: ['status', 'headers', 'body', 'latencyMs'],
  client: ['ip', 'consumer'],
  gateway: ['kind', 'service', 'route', 'node'],
  operation: ['id', 'method', 'path'],
};

const MACROS = new Set(['all', 'exists', 'exists_one', 'map', 'filter']);

/** A cel-js AST node: member access is op '.' with args [object, 'field']; identifiers are op 'id'. */
interface CelNode {
  op: string;
  args: unknown;
  start: number;
  end: number;
}

/** What the checker knows about the value of an expression. */
type Known =
  | { kind: 'unknown' }
  | { kind: 'root'; name: string }
  | { kind: 'names'; names: readonly string[]; what: string; path: string }
  | { kind: 'schema'; schemas: unknown[]; path: string; where: string };

const UNKNOWN: Known = { kind: 'unknown' };

interface Context {
  source: string;
  pointer: string;
  label: string;
  shape: OperationShape;
  report: Reporter;
}

/**
 * Checks field references of a compiled CEL `when` against the exchange's fixed fields and the
 * operation's schemas and parameters, so that `response.body.totl` fails at load, not silently
 * at runtime (CEL would only answer "no such key" per exchange).
 */
export function checkCelReferences(ast: unknown, source: string, pointer: string, label: string, shape: OperationShape, report: Reporter): void {
  if (!isNode(ast)) return;
  walk(ast, new Map(), { source, pointer, label, shape, report });
}

function isNode(v: unknown): v is CelNode {
  return typeof v === 'object' && v !== null && typeof (v as CelNode).op === 'string';
}

function walk(node: CelNode, env: ReadonlyMap<string, Known>, ctx: Context): Known {
  const args = node.args;
  // Each case checks the shape it expects; an unknown shape (a newer cel-js) is walked generically.
  switch (node.op) {
    case 'value':
      return UNKNOWN;
    case 'id': {
      const name = String(args);
      return env.get(name) ?? (EXCHANGE_FIELDS[name] ? { kind: 'root', name } : UNKNOWN);
    }
    case '.': {
      const [object, field] = Array.isArray(args) ? args : [];
      if (!isNode(object) || typeof field !== 'string') break;
      return step(walk(object, env, ctx), field, fieldOffset(ctx.source, node, field), ctx);
    }
    case '[]': {
      const [object, index] = Array.isArray(args) ? args : [];
      if (!isNode(object) || !isNode(index)) break;
      const base = walk(object, env, ctx);
      walk(index, env, ctx);
      if (index.op !== 'value') return UNKNOWN;
      if (typeof index.args === 'string') return step(base, index.args, index.start, ctx);
      if (typeof index.args === 'bigint' || typeof index.args === 'number') return elementOf(base);
      return UNKNOWN;
    }
    case 'rcall': {
      const [name, receiver, callArgs] = Array.isArray(args) ? args : [];
      if (typeof name !== 'string' || !isNode(receiver) || !Array.isArray(callArgs)) break;
      const base = walk(receiver, env, ctx);
      const variable = callArgs[0];
      if (MACROS.has(name) && isNode(variable) && variable.op === 'id') {
        // `items.exists(i, i.sku == 'x')`: `i` stands for an element of `items`.
        const inner = new Map(env).set(String(variable.args), elementOf(base));
        for (const a of callArgs.slice(1)) walkAny(a, inner, ctx);
      } else {
        for (const a of callArgs) walkAny(a, env, ctx);
      }
      return UNKNOWN;
    }
  }
  walkAny(args, env, ctx);
  return UNKNOWN;
}

/** Walks whatever holds nodes (arrays of nodes, map-literal entry pairs, ...). */
function walkAny(v: unknown, env: ReadonlyMap<string, Known>, ctx: Context): void {
  if (isNode(v)) walk(v, env, ctx);
  else if (Array.isArray(v)) for (const x of v) walkAny(x, env, ctx);
}

function fieldOffset(source: string, node: CelNode, field: string): number {
  const guess = node.end - field.length;
  if (source.slice(guess, node.end) === field) return guess;
  const found = source.lastIndexOf(field, node.end);
  return found >= node.start ? found : node.start;
}

function elementOf(k: Known): Known {
  if (k.kind !== 'schema') return UNKNOWN;
  const items = itemsOf(k.schemas);
  return items ? { kind: 'schema', schemas: items, path: `${k.path}[]`, where: k.where } : UNKNOWN;
}

function step(k: Known, field: string, offset: number, ctx: Context): Known {
  const { report, pointer, label, shape } = ctx;
  switch (k.kind) {
    case 'root': {
      const fields = EXCHANGE_FIELDS[k.name]!;
      if (!fields.includes(field)) {
        report.error(CODES.unknownField, pointer, `${label}: '${field}' is not a field of ${k.name}`, {
          offset,
          hint: didYouMean(field, fields) ?? `${k.name} has ${listOf([...fields])}.`,
        });
        return UNKNOWN;
      }
      return member(k.name, field, shape);
    }
    case 'names':
      if (!k.names.includes(field)) {
        const hint = didYouMean(field, k.names) ?? (k.names.length ? `Its ${k.what}s are ${listOf([...k.names], 'and')}.` : `It has no ${k.what}s.`);
        report.error(CODES.unknownParameter, pointer, `${label}: '${field}' is not a ${k.what} of ${shape.label}`, { offset, hint });
      }
      return UNKNOWN;
    case 'schema': {
      const found = lookupProperty(k.schemas, field);
      if (found.kind === 'found') return { kind: 'schema', schemas: found.schemas, path: `${k.path}.${field}`, where: k.where };
      if (found.kind === 'missing') {
        report.error(CODES.unknownProperty, pointer, `${label}: ${k.path} has no property '${field}' (per ${k.where} of ${shape.label})`, {
          offset,
          hint: didYouMean(field, found.known) ?? (found.known.length ? `Known properties: ${listOf(found.known.slice(0, 12), 'and')}.` : undefined),
        });
      }
      return UNKNOWN;
    }
    default:
      return UNKNOWN;
  }
}

function member(root: string, field: string, shape: OperationShape): Known {
  const path = `${root}.${field}`;
  if (root === 'request' && field === 'body' && shape.requestBody) {
    return { kind: 'schema', schemas: shape.requestBody, path, where: 'the request body schema' };
  }
  if (root === 'response' && field === 'body' && shape.responseBody) {
    return { kind: 'schema', schemas: shape.responseBody, path, where: 'the response schemas' };
  }
  if (root === 'request' && field === 'params') return { kind: 'names', names: shape.pathParams, what: 'path parameter', path };
  if (root === 'request' && field === 'query' && shape.queryParams) {
    return { kind: 'names', names: shape.queryParams, what: 'query parameter', path };
  }
  return UNKNOWN;
}
