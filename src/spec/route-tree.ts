import type { CompiledOperation, PathMatchMode, PathParam, RequestPaths, RouteAttempt, RouteMatch, Router } from './types.js';

/**
 * Maps `method + path` to an operation. A tree of path segments per server base path: at each
 * level a literal segment is tried before templated ones, and a branch that fails deeper (or has
 * no operation for the method) backtracks to the next candidate. All parsing of templates happens
 * here at build time; a lookup only splits the path and walks.
 */

type ParamType = PathParam['type'];

/** A templated segment such as `{id}` or `{name}.json`: literals around typed captures. */
interface TemplateEdge {
  /** literals[0] {param0} literals[1] {param1} ... literals[n] */
  literals: string[];
  types: ParamType[];
  node: RouteNode;
  /** For ordering: more literal text and stricter types are tried first. */
  literalLength: number;
  strictness: number;
  key: string;
}

interface Leaf {
  operation: CompiledOperation;
  /** Parameter names in capture order. */
  names: string[];
  /** Which kinds of path may match it (bits below), from its spec's `x-reflex.match`. */
  accepts: number;
}

// Kinds of path tried for one exchange, as bits so that one walk can stand for several.
const CLIENT = 1;
const UPSTREAM = 2;
const ROUTE = 4;
const ANY = CLIENT | UPSTREAM | ROUTE;
const ACCEPTS: Record<PathMatchMode, number> = { auto: ANY, client: CLIENT, upstream: UPSTREAM | ROUTE };

class RouteNode {
  literals: Map<string, RouteNode> | null = null;
  templates: TemplateEdge[] = [];
  methods: Map<string, Leaf> | null = null;
}

interface BaseGroup {
  base: string[];
  /** The base path as the spec wrote it, for explanations. */
  display: string;
  root: RouteNode;
}

export interface RouteEntry {
  operation: CompiledOperation;
  /** Server base paths of the operation's spec (`/v1`); '' for none. */
  basePaths: string[];
  /** Which path the spec describes; default `auto`. */
  match?: PathMatchMode;
}

const STRICTNESS: Record<ParamType, number> = { boolean: 0, integer: 1, number: 2, string: 3 };

/** Called when an operation can never match because another one claims the same method and template. */
export type ShadowHandler = (kept: CompiledOperation, shadowed: CompiledOperation) => void;

export function buildRouter(entries: readonly RouteEntry[], onShadow?: ShadowHandler): Router {
  const groups = new Map<string, BaseGroup>();
  for (const { operation, basePaths, match } of entries) {
    for (const base of basePaths.length ? basePaths : ['']) {
      const segments = splitPath(base);
      const key = segments.join('/');
      let group = groups.get(key);
      if (!group) groups.set(key, (group = { base: segments, display: base, root: new RouteNode() }));
      insert(group.root, operation, ACCEPTS[match ?? 'auto'], onShadow);
    }
  }
  // Longer base paths first: `/v1/admin` must be stripped before `/v1` gets a chance.
  const ordered = [...groups.values()].sort((a, b) => b.base.length - a.base.length);
  const based = ordered.filter((g) => g.base.length > 0);
  return {
    match: (method, path) => search(ordered, method.toUpperCase(), splitPath(path), true, ANY),
    route: (request) => route(ordered, based, request),
    explain: (request) => explain(ordered, based, request),
  };
}

/**
 * The paths an exchange is tried with, in order: the client's against the base paths; the upstream's
 * against them, then as already stripped (a route with strip_path, a prefix_rewrite); last the client's
 * without the gateway route's prefix (a route that does not strip in front of a spec without it).
 * When the gateway logs one path only, it stands for both.
 */
interface Attempt {
  kind: RouteAttempt['kind'];
  path: string;
  segments: string[];
  withBase: boolean;
  kinds: number;
}

function attempts(request: RequestPaths, based: readonly BaseGroup[]): Attempt[] {
  const out: Attempt[] = [];
  const client = splitPath(request.path);
  const up = request.upstreamPath ?? null;
  const oneUpstream = up === null || up === request.path;
  out.push({ kind: 'client', path: request.path, segments: client, withBase: true, kinds: oneUpstream ? CLIENT | UPSTREAM : CLIENT });
  const upstream = oneUpstream ? client : splitPath(up);
  if (!oneUpstream) out.push({ kind: 'upstream', path: up, segments: upstream, withBase: true, kinds: UPSTREAM });
  if (based.length > 0) out.push({ kind: 'upstream', path: oneUpstream ? request.path : up, segments: upstream, withBase: false, kinds: UPSTREAM });
  const stripped = withoutRoutePrefix(client, request.routePrefix);
  if (stripped && !sameSegments(stripped, upstream)) {
    const path = '/' + stripped.map(encodeURIComponent).join('/');
    out.push({ kind: 'route', path, segments: stripped, withBase: true, kinds: ROUTE });
    if (based.length > 0) out.push({ kind: 'route', path, segments: stripped, withBase: false, kinds: ROUTE });
  }
  return out;
}

function route(groups: readonly BaseGroup[], based: readonly BaseGroup[], request: RequestPaths): RouteMatch | null {
  const method = request.method.toUpperCase();
  // The common case (the client path under a base path) is tried before building the other attempts.
  const oneUpstream = request.upstreamPath == null || request.upstreamPath === request.path;
  const client = splitPath(request.path);
  const first = search(groups, method, client, true, oneUpstream ? CLIENT | UPSTREAM : CLIENT);
  if (first) return first;
  const rest = attempts(request, based);
  for (let i = 1; i < rest.length; i++) {
    const a = rest[i]!;
    const found = search(a.withBase ? groups : based, method, a.segments, a.withBase, a.kinds);
    if (found) return found;
  }
  return null;
}

function explain(groups: readonly BaseGroup[], based: readonly BaseGroup[], request: RequestPaths): RouteAttempt[] {
  const method = request.method.toUpperCase();
  const basePaths = based.map((g) => g.display);
  const out: RouteAttempt[] = [];
  for (const a of attempts(request, based)) {
    const scope = a.withBase ? groups.filter((g) => hasPrefix(a.segments, g.base)) : based;
    let result: RouteAttempt['result'];
    const found = search(scope, method, a.segments, a.withBase, a.kinds);
    if (found) {
      result = { found: true, operationId: found.operation.id, template: found.operation.path, specFile: found.operation.specFile };
    } else if (scope.length === 0) {
      result = { found: false, reason: 'no-base-path' };
    } else if (search(scope, method, a.segments, a.withBase, ANY)) {
      result = { found: false, reason: 'excluded' };
    } else {
      const templates = otherMethods(scope, a.segments, a.withBase);
      result = templates.length > 0 ? { found: false, reason: 'other-method', templates } : { found: false, reason: 'no-operation' };
    }
    out.push({ kind: a.kind, path: a.path, withBase: a.withBase, basePaths, result });
    if (result.found) break;
  }
  return out;
}

/** `<METHOD> <template>` of the operations the path matches under other methods. */
function otherMethods(groups: readonly BaseGroup[], segments: string[], withBase: boolean): string[] {
  const out = new Set<string>();
  for (const group of groups) {
    const node = walkAny(group.root, segments, withBase ? group.base.length : 0);
    for (const [method, leaf] of node?.methods ?? []) out.add(`${method} ${leaf.operation.path}`);
  }
  return [...out];
}

function walkAny(node: RouteNode, segments: string[], i: number): RouteNode | null {
  if (i === segments.length) return node.methods && node.methods.size > 0 ? node : null;
  const literal = node.literals?.get(segments[i]!);
  const viaLiteral = literal ? walkAny(literal, segments, i + 1) : null;
  if (viaLiteral) return viaLiteral;
  const scratch: unknown[] = [];
  for (const edge of node.templates) {
    scratch.length = 0;
    if (capture(edge, segments[i]!, scratch)) {
      const found = walkAny(edge.node, segments, i + 1);
      if (found) return found;
    }
  }
  return null;
}

function withoutRoutePrefix(client: string[], prefix: string | null | undefined): string[] | null {
  if (!prefix) return null;
  const p = splitPath(prefix);
  if (p.length === 0 || !hasPrefix(client, p)) return null;
  return client.slice(p.length);
}

function sameSegments(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function insert(root: RouteNode, operation: CompiledOperation, accepts: number, onShadow: ShadowHandler | undefined): void {
  let node = root;
  const names: string[] = [];
  for (const segment of splitTemplate(operation.path)) {
    if (!segment.includes('{')) {
      node.literals ??= new Map();
      let next = node.literals.get(segment);
      if (!next) node.literals.set(segment, (next = new RouteNode()));
      node = next;
      continue;
    }
    const { literals, params } = parseSegment(segment);
    const types = params.map((name) => operation.params.find((p) => p.name === name)?.type ?? 'string');
    names.push(...params);
    // Names are not part of the key (`{id}` and `{orderId}` match the same segments); types are,
    // since GET and DELETE on one path may type `{id}` differently.
    const key = `${literals.join('\u0001')}\u0000${types.join(',')}`;
    let edge = node.templates.find((e) => e.key === key);
    if (!edge) {
      edge = {
        literals,
        types,
        node: new RouteNode(),
        literalLength: literals.reduce((n, l) => n + l.length, 0),
        strictness: types.reduce((n, t) => n + STRICTNESS[t], 0),
        key,
      };
      node.templates.push(edge);
      node.templates.sort((a, b) => b.literalLength - a.literalLength || a.strictness - b.strictness);
    }
    node = edge.node;
  }
  node.methods ??= new Map();
  const method = operation.method.toUpperCase();
  const existing = node.methods.get(method);
  // The first operation to declare a route keeps it.
  if (!existing) node.methods.set(method, { operation, names, accepts });
  else if (existing.operation !== operation) onShadow?.(existing.operation, operation);
}

/** `withBase`: strip each group's base path first (groups it does not prefix are skipped); else walk from the root. */
function search(groups: readonly BaseGroup[], method: string, segments: string[], withBase: boolean, kinds: number): RouteMatch | null {
  const captures: unknown[] = [];
  for (const group of groups) {
    if (withBase && !hasPrefix(segments, group.base)) continue;
    captures.length = 0;
    const found = walk(group.root, segments, withBase ? group.base.length : 0, method, captures, kinds);
    if (found) return found;
  }
  return null;
}

function walk(node: RouteNode, segments: string[], i: number, method: string, captures: unknown[], kinds: number): RouteMatch | null {
  if (i === segments.length) {
    const leaf = node.methods?.get(method);
    if (!leaf || (leaf.accepts & kinds) === 0) return null;
    const params: Record<string, unknown> = {};
    for (let k = 0; k < leaf.names.length; k++) params[leaf.names[k]!] = captures[k];
    return { operation: leaf.operation, params };
  }
  const segment = segments[i]!;
  const literal = node.literals?.get(segment);
  if (literal) {
    const found = walk(literal, segments, i + 1, method, captures, kinds);
    if (found) return found;
  }
  for (const edge of node.templates) {
    const mark = captures.length;
    if (capture(edge, segment, captures)) {
      const found = walk(edge.node, segments, i + 1, method, captures, kinds);
      if (found) return found;
    }
    captures.length = mark;
  }
  return null;
}

/** Matches one segment against `lit0{p0}lit1{p1}...litN`, pushing converted values. */
function capture(edge: TemplateEdge, segment: string, captures: unknown[]): boolean {
  const { literals, types } = edge;
  const first = literals[0]!;
  const last = literals[literals.length - 1]!;
  if (segment.length < edge.literalLength + types.length) return false;
  if (!segment.startsWith(first) || !segment.endsWith(last)) return false;
  let pos = first.length;
  const end = segment.length - last.length;
  for (let p = 0; p < types.length; p++) {
    let stop: number;
    if (p === types.length - 1) {
      stop = end;
    } else {
      // Between two captures, the next literal's first occurrence ends the earlier capture.
      stop = segment.indexOf(literals[p + 1]!, pos + 1);
      if (stop < 0 || stop > end) return false;
    }
    if (stop <= pos) return false; // a path parameter is never empty
    const value = convert(segment.slice(pos, stop), types[p]!);
    if (value === undefined) return false;
    captures.push(value);
    pos = stop + (p === types.length - 1 ? 0 : literals[p + 1]!.length);
  }
  return true;
}

/** undefined when the segment is not a value of the type, so that other branches get a try. */
export function convert(raw: string, type: ParamType): unknown {
  switch (type) {
    case 'string':
      return raw;
    case 'integer': {
      if (!isInteger(raw)) return undefined;
      const n = Number(raw);
      // Beyond 2^53 a number would silently change the id; the exact digits are kept instead.
      return Number.isSafeInteger(n) ? n : raw;
    }
    case 'number':
      return isDecimal(raw) ? Number(raw) : undefined;
    case 'boolean':
      return raw === 'true' ? true : raw === 'false' ? false : undefined;
  }
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isInteger(s: string): boolean {
  let i = s.charCodeAt(0) === 45 /* - */ ? 1 : 0;
  if (i === s.length) return false;
  for (; i < s.length; i++) if (!isDigit(s.charCodeAt(i))) return false;
  return true;
}

/** JSON number grammar (no `0x`, `Infinity`, blanks or empty strings, which Number() would take). */
function isDecimal(s: string): boolean {
  let i = 0;
  const n = s.length;
  if (s.charCodeAt(i) === 45) i++;
  const intStart = i;
  while (i < n && isDigit(s.charCodeAt(i))) i++;
  if (i === intStart) return false;
  if (i < n && s.charCodeAt(i) === 46 /* . */) {
    i++;
    const fracStart = i;
    while (i < n && isDigit(s.charCodeAt(i))) i++;
    if (i === fracStart) return false;
  }
  if (i < n && (s.charCodeAt(i) | 32) === 101 /* e */) {
    i++;
    if (i < n && (s.charCodeAt(i) === 43 || s.charCodeAt(i) === 45)) i++;
    const expStart = i;
    while (i < n && isDigit(s.charCodeAt(i))) i++;
    if (i === expStart) return false;
  }
  return i === n;
}

function hasPrefix(segments: readonly string[], base: readonly string[]): boolean {
  if (base.length > segments.length) return false;
  for (let i = 0; i < base.length; i++) if (segments[i] !== base[i]) return false;
  return true;
}

/** Non-empty, percent-decoded segments; a query string or fragment is cut off defensively. */
export function splitPath(path: string): string[] {
  let end = path.length;
  const q = path.indexOf('?');
  if (q >= 0) end = q;
  const h = path.indexOf('#');
  if (h >= 0 && h < end) end = h;
  const out: string[] = [];
  let start = 0;
  while (start <= end) {
    let slash = path.indexOf('/', start);
    if (slash < 0 || slash > end) slash = end;
    if (slash > start) out.push(decodeSegment(path.slice(start, slash)));
    start = slash + 1;
  }
  return out;
}

function decodeSegment(s: string): string {
  if (!s.includes('%')) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    return s; // malformed escapes are compared as written
  }
}

/** Template segments, literal parts decoded like request paths are. */
function splitTemplate(path: string): string[] {
  return path
    .split('/')
    .filter((s) => s !== '')
    .map((s) => (s.includes('{') ? s : decodeSegment(s)));
}

function parseSegment(segment: string): { literals: string[]; params: string[] } {
  const literals: string[] = [];
  const params: string[] = [];
  let rest = segment;
  for (;;) {
    const open = rest.indexOf('{');
    const close = open < 0 ? -1 : rest.indexOf('}', open);
    if (open < 0 || close < 0) {
      literals.push(decodeSegment(rest));
      break;
    }
    literals.push(decodeSegment(rest.slice(0, open)));
    params.push(rest.slice(open + 1, close));
    rest = rest.slice(close + 1);
  }
  return { literals, params };
}
