import { isObject, type Obj } from './doc.js';

/**
 * Property lookup over a union of JSON Schemas, for checking `response.body.x` in CEL.
 * Only objects whose properties are fully declared can say "no such property"; anything that
 * leaves room for more (oneOf/anyOf, additionalProperties, no `properties`) answers 'open'.
 */
export type PropertyLookup =
  | { kind: 'open' }
  | { kind: 'found'; schemas: unknown[] }
  | { kind: 'missing'; known: string[] };

export function lookupProperty(schemas: readonly unknown[], name: string): PropertyLookup {
  const found: unknown[] = [];
  const known = new Set<string>();
  for (const schema of schemas) {
    const facets: Obj[] = [];
    if (!collectFacets(schema, facets, new Set())) return { kind: 'open' };
    const withProperties = facets.filter((f) => isObject(f.properties));
    if (withProperties.length === 0) return { kind: 'open' };
    for (const f of withProperties) {
      const props = f.properties as Obj;
      if (Object.hasOwn(props, name)) found.push(props[name]);
      for (const k of Object.keys(props)) known.add(k);
    }
  }
  if (found.length > 0) return { kind: 'found', schemas: found };
  return { kind: 'missing', known: [...known] };
}

/** Element schemas of a union of array schemas; null when any member is not a plain array. */
export function itemsOf(schemas: readonly unknown[]): unknown[] | null {
  const out: unknown[] = [];
  for (const s of schemas) {
    if (!isObject(s) || !isObject(s.items)) return null;
    out.push(s.items);
  }
  return out;
}

/** Flattens allOf; false when the schema is open (or cannot be read, e.g. an unresolved circular $ref). */
function collectFacets(schema: unknown, out: Obj[], seen: Set<unknown>): boolean {
  if (!isObject(schema)) return false;
  if (seen.has(schema)) return true;
  seen.add(schema);
  if ('$ref' in schema || 'oneOf' in schema || 'anyOf' in schema) return false;
  if (isOpen(schema.additionalProperties) || isOpen(schema.unevaluatedProperties)) return false;
  if (isObject(schema.patternProperties) && Object.keys(schema.patternProperties).length > 0) return false;
  out.push(schema);
  if (Array.isArray(schema.allOf)) {
    for (const part of schema.allOf) if (!collectFacets(part, out, seen)) return false;
  }
  return true;
}

/** Absent or `false` keeps an object closed; `true` or a schema opens it. */
function isOpen(v: unknown): boolean {
  return v === true || isObject(v);
}
