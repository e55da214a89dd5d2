import { toPointer } from '../model/json-pointer.js';
import { compileCel } from '../rules/cel.js';
import type { CompiledExpression } from '../rules/expression.js';
import { compileJsonata } from '../rules/jsonata/index.js';
import { checkCelReferences } from './cel-refs.js';
import { CODES } from '../codes.js';
import { isObject, type Obj } from './doc.js';
import { compileCelAt, compileJsonataAt } from './expressions.js';
import { operationShape, pathParamsOf, type OperationShape } from './op-shape.js';
import type { Reporter } from './report.js';
import { BROKEN, resolveResourceRef, type ResourceDecl } from './resources.js';
import type { CdcOp, CompiledOperation, CompiledResourceRef, CompiledRule } from './types.js';

export const DEFAULT_WHEN = 'response.status < 400';
export const DEFAULT_DATA = 'response.body';
export const DEFAULT_CDC_WHEN = 'response.status >= 200 && response.status < 300';

let defaults: { when: CompiledExpression; data: CompiledExpression; cdcWhen: CompiledExpression } | undefined;

/** The default expressions are the same for every rule: compile them once per process. */
function defaultExpressions(): { when: CompiledExpression; data: CompiledExpression; cdcWhen: CompiledExpression } {
  defaults ??= { when: compileCel(DEFAULT_WHEN), data: compileJsonata(DEFAULT_DATA), cdcWhen: compileCel(DEFAULT_CDC_WHEN) };
  return defaults;
}

const CDC_BY_METHOD: Record<string, CdcOp> = { POST: 'create', PUT: 'update', PATCH: 'update', DELETE: 'delete', GET: 'read' };

export interface SpecContext {
  specFile: string;
  source: string;
  typePrefix: string | undefined;
  resources: Map<string, ResourceDecl>;
  report: Reporter;
}

/**
 * One operation of the spec, with its rules compiled. Problems are reported, never thrown.
 * `pathResource` is the path item's resolved x-reflex-resource, which the operation's own overrides.
 */
export function compileOperation(
  ctx: SpecContext,
  path: string,
  method: string,
  pathItem: Obj,
  op: Obj,
  pathResource: CompiledResourceRef | null,
): CompiledOperation {
  const { report } = ctx;
  const METHOD = method.toUpperCase();
  const pointer = toPointer(['paths', path, method]);
  const id = typeof op.operationId === 'string' && op.operationId !== '' ? op.operationId : `${METHOD} ${path}`;
  const ownRef = op['x-reflex-resource'];
  const resource =
    ownRef === undefined ? pathResource : (resolveResourceRef(ownRef, `${pointer}/x-reflex-resource`, ctx.resources, report)?.ref ?? null);
  const declared = ownRef !== undefined || pathItem['x-reflex-resource'] !== undefined;
  const shape = operationShape(id, path, pathItem, op);
  const rules = Array.isArray(op['x-reflex-events'])
    ? op['x-reflex-events'].map((event, i) => compileRule(ctx, event, i, `${pointer}/x-reflex-events/${i}`, resource, shape))
    : [];
  return {
    id,
    method: METHOD,
    path,
    params: pathParamsOf(path, pathItem, op),
    resource,
    rules,
    cdc: compileCdc(ctx, op, METHOD, `${pointer}/x-reflex-cdc`, resource, declared, shape),
    source: ctx.source,
    specFile: ctx.specFile,
    location: report.sources.locate(pointer),
  };
}

function compileRule(
  ctx: SpecContext,
  event: unknown,
  index: number,
  pointer: string,
  resource: CompiledResourceRef | null,
  shape: OperationShape,
): CompiledRule {
  const { report } = ctx;
  const e = isObject(event) ? event : {};
  const label = `x-reflex-events[${index}]`;
  const type = typeof e.type === 'string' ? e.type : '';
  let when: CompiledExpression = defaultExpressions().when;
  if (typeof e.when === 'string' && e.when !== '') {
    const compiled = compileCelAt(e.when, `${pointer}/when`, `${label}.when`, report);
    if (compiled) checkCelReferences(compiled.ast, e.when, `${pointer}/when`, `${label}.when`, shape, report);
    when = compiled ?? BROKEN;
  }
  const jsonata = (field: 'data' | 'key'): CompiledExpression | null => {
    const src = e[field];
    if (typeof src !== 'string' || src === '') return null;
    return compileJsonataAt(src, `${pointer}/${field}`, `${label}.${field}`, report) ?? BROKEN;
  };
  return {
    type,
    eventType: ctx.typePrefix ? `${ctx.typePrefix}.${type}` : type,
    index,
    when,
    data: jsonata('data') ?? defaultExpressions().data,
    key: jsonata('key'),
    stream: typeof e.stream === 'string' && e.stream !== '' ? e.stream : (resource?.name ?? 'events'),
    location: report.sources.locate(pointer),
  };
}

function compileCdc(
  ctx: SpecContext,
  op: Obj,
  METHOD: string,
  pointer: string,
  resource: CompiledResourceRef | null,
  resourceDeclared: boolean,
  shape: OperationShape,
): CompiledOperation['cdc'] {
  const cdc = op['x-reflex-cdc'];
  const declared = isObject(cdc) ? cdc : {};
  const validOps: readonly string[] = ['create', 'update', 'delete', 'read', 'none'];
  const opName = typeof declared.op === 'string' && validOps.includes(declared.op) ? (declared.op as CdcOp) : (CDC_BY_METHOD[METHOD] ?? 'none');
  let state: CompiledExpression | null = null;
  if (typeof declared.state === 'string' && declared.state !== '') {
    state = compileJsonataAt(declared.state, `${pointer}/state`, 'x-reflex-cdc.state', ctx.report) ?? BROKEN;
  }
  let when = defaultExpressions().cdcWhen;
  if (typeof declared.when === 'string' && declared.when !== '') {
    const compiled = compileCelAt(declared.when, `${pointer}/when`, 'x-reflex-cdc.when', ctx.report);
    if (compiled) checkCelReferences(compiled.ast, declared.when, `${pointer}/when`, 'x-reflex-cdc.when', shape, ctx.report);
    when = compiled ?? BROKEN;
  }
  // A declared but broken x-reflex-resource is reported already; a warning on top would only add noise.
  if (cdc !== undefined && !resource?.cdc && (resource || !resourceDeclared)) {
    ctx.report.warn(
      CODES.cdcWithoutEffect,
      pointer,
      resource
        ? `x-reflex-cdc has no effect: resource '${resource.name}' does not have cdc: true`
        : 'x-reflex-cdc has no effect: the operation has no x-reflex-resource',
      { key: true, hint: resource ? `Set cdc: true on x-reflex.resources.${resource.name}.` : undefined },
    );
  }
  return { op: opName, state, when };
}
