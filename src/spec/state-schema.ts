import { isObject, type Obj } from './doc.js';
import type { CompiledOperation } from './types.js';

const JSON_MEDIA = /^application\/(.+\+)?json$/i;
/** Circular schemas (dereferenced with `circular: true`) are cut here; deeper parts become `{}`. */
const MAX_DEPTH = 8;

/**
 * The JSON Schema of each CDC resource's state where the spec says it: the 2xx JSON response of
 * the first operation that keeps the default state (`response.body`) for that resource. Sinks use
 * it to type columns; a `state` expression reshapes the body, so those operations say nothing.
 */
export function resourceStateSchemas(api: Obj, operations: readonly CompiledOperation[]): Map<string, Record<string, unknown>> {
  const out = new Map<string, Record<string, unknown>>();
  const paths = isObject(api.paths) ? api.paths : {};
  for (const op of operations) {
    const resource = op.resource;
    if (!resource?.cdc || out.has(resource.name) || op.cdc.state !== null) continue;
    if (op.cdc.op !== 'create' && op.cdc.op !== 'update' && op.cdc.op !== 'read') continue;
    const pathItem = paths[op.path];
    const operation = isObject(pathItem) ? pathItem[op.method.toLowerCase()] : undefined;
    const schema = isObject(operation) ? successSchema(operation) : null;
    if (schema) out.set(resource.name, acyclic(schema, 0, new Set()) as Record<string, unknown>);
  }
  return out;
}

function successSchema(operation: Obj): Obj | null {
  const responses = isObject(operation.responses) ? operation.responses : {};
  for (const code of Object.keys(responses).filter((c) => /^2(\d\d|XX)$/i.test(c)).sort()) {
    const response = responses[code];
    const content = isObject(response) && isObject(response.content) ? response.content : {};
    for (const [media, body] of Object.entries(content)) {
      if (JSON_MEDIA.test(media.split(';')[0]!.trim()) && isObject(body) && isObject(body.schema)) return body.schema;
    }
  }
  return null;
}

/** A copy without cycles or shared depth beyond MAX_DEPTH, safe to serialize. */
function acyclic(value: unknown, depth: number, seen: Set<object>): unknown {
  if (Array.isArray(value)) return value.map((v) => acyclic(v, depth, seen));
  if (!isObject(value)) return value;
  if (seen.has(value) || depth > MAX_DEPTH) return {};
  seen.add(value);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = acyclic(v, depth + 1, seen);
  seen.delete(value);
  return out;
}
