import { isObject, type Obj } from './doc.js';
import type { PathParam } from './types.js';

/** What the spec says an operation's exchange looks like: what CEL references are checked against. */
export interface OperationShape {
  /** How messages name the operation: operationId, else `METHOD /path`. */
  label: string;
  pathParams: string[];
  /** null: the operation declares no query parameters, or some are exploded objects. */
  queryParams: string[] | null;
  /** Schemas of the JSON request bodies; null when there are none or one has no schema. */
  requestBody: unknown[] | null;
  /** Union of the JSON response schemas; null when there are none or one has no schema. */
  responseBody: unknown[] | null;
}

export function operationShape(label: string, path: string, pathItem: Obj, operation: Obj): OperationShape {
  const params = parametersOf(pathItem, operation);
  const query = params.filter((p) => p.in === 'query');
  const explodedObject = query.some((p) => isObject(p.schema) && p.schema.type === 'object' && p.explode !== false);
  return {
    label,
    pathParams: templateNames(path),
    queryParams: query.length === 0 || explodedObject ? null : query.map((p) => String(p.name)),
    requestBody: isObject(operation.requestBody) ? jsonSchemas([operation.requestBody]) : null,
    responseBody: isObject(operation.responses) ? jsonSchemas(Object.values(operation.responses)) : null,
  };
}

/** Path-level parameters, overridden by operation-level ones with the same name and location. */
export function parametersOf(pathItem: Obj, operation: Obj): Obj[] {
  const byKey = new Map<string, Obj>();
  for (const list of [pathItem.parameters, operation.parameters]) {
    if (!Array.isArray(list)) continue;
    for (const p of list) if (isObject(p)) byKey.set(`${String(p.in)}:${String(p.name)}`, p);
  }
  return [...byKey.values()];
}

export function templateNames(path: string): string[] {
  const names: string[] = [];
  for (const m of path.matchAll(/\{([^}]+)\}/g)) names.push(m[1]!);
  return names;
}

/** Typed path parameters in template order; undeclared or non-scalar ones stay strings. */
export function pathParamsOf(path: string, pathItem: Obj, operation: Obj): PathParam[] {
  const declared = parametersOf(pathItem, operation).filter((p) => p.in === 'path');
  return templateNames(path).map((name) => {
    const p = declared.find((d) => d.name === name);
    return { name, type: scalarType(isObject(p?.schema) ? p.schema.type : undefined) };
  });
}

function scalarType(type: unknown): PathParam['type'] {
  // 3.1 allows `type: [integer, 'null']`; a path segment is never null.
  const t = Array.isArray(type) ? type.find((x) => x !== 'null') : type;
  return t === 'integer' || t === 'number' || t === 'boolean' ? t : 'string';
}

function jsonSchemas(holders: unknown[]): unknown[] | null {
  const schemas: unknown[] = [];
  for (const holder of holders) {
    if (!isObject(holder) || !isObject(holder.content)) continue;
    for (const [mediaType, media] of Object.entries(holder.content)) {
      if (!isJsonMediaType(mediaType)) continue;
      if (!isObject(media) || media.schema === undefined) return null;
      schemas.push(media.schema);
    }
  }
  return schemas.length > 0 ? schemas : null;
}

/** Bodies are parsed as JSON only for these (DESIGN.md "Exchange"). */
export function isJsonMediaType(mediaType: string): boolean {
  const base = mediaType.split(';')[0]!.trim().toLowerCase();
  return base === 'application/json' || base.endsWith('+json') || base === '*/*' || base === 'application/*';
}
