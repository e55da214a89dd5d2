/**
 * The types schema inference works with: JSON Schemas from the spec are kept as they are (`raw`)
 * and opened one level at a time when an expression looks inside them, so circular schemas
 * cost nothing until navigated and a value passed through unchanged keeps its spec schema
 * (descriptions, formats, enums) in the output.
 */
import { isObject, type Obj } from '../spec/doc.js';

export type ScalarType = 'string' | 'number' | 'integer' | 'boolean' | 'null';

export type T =
  | { k: 'any' }
  | { k: 'raw'; schema: unknown }
  | { k: 'scalar'; type: ScalarType; schema?: Obj }
  | { k: 'object'; props: Map<string, { t: T; required: boolean }>; additional: T | false }
  | { k: 'array'; items: T }
  | { k: 'union'; of: T[] };

/** A typed value: `optional` when the expression may give no value (jsonata's undefined). */
export interface Typed {
  t: T;
  optional: boolean;
}

export const ANY: T = { k: 'any' };
export const STRING: T = { k: 'scalar', type: 'string' };
export const INTEGER: T = { k: 'scalar', type: 'integer' };
export const NUMBER: T = { k: 'scalar', type: 'number' };
export const BOOLEAN: T = { k: 'scalar', type: 'boolean' };
export const NULL: T = { k: 'scalar', type: 'null' };

/** No value can have this type (an empty union): a field that is never there. */
export const isNever = (t: T): boolean => t.k === 'union' && t.of.length === 0;

export const raw = (schema: unknown): T => ({ k: 'raw', schema });
export const arrayOf = (items: T): T => ({ k: 'array', items });
export const nullable = (t: T): T => union([t, NULL]);

export function objectOf(props: Record<string, T>, optional: readonly string[] = []): T {
  const map = new Map<string, { t: T; required: boolean }>();
  for (const [name, t] of Object.entries(props)) map.set(name, { t, required: !optional.includes(name) });
  return { k: 'object', props: map, additional: false };
}

/** A union, flattened; `any` absorbs everything, an empty union is `never` (no value at all). */
export function union(members: readonly T[]): T {
  const flat: T[] = [];
  const seen = new Set<string>();
  for (const m of members) {
    for (const x of m.k === 'union' ? m.of : [m]) {
      if (x.k === 'any') return ANY;
      const id = JSON.stringify(toSchema(x));
      if (seen.has(id)) continue;
      seen.add(id);
      flat.push(x);
    }
  }
  return flat.length === 1 ? flat[0]! : { k: 'union', of: flat };
}

const SCALARS: readonly string[] = ['string', 'number', 'integer', 'boolean', 'null'];

/** The alternatives a type stands for, with spec schemas opened one level. */
export function alternatives(t: T): T[] {
  if (t.k === 'union') return t.of.flatMap(alternatives);
  if (t.k !== 'raw') return [t];
  return openSchema(t.schema);
}

function openSchema(s: unknown): T[] {
  if (s === false) return [];
  if (!isObject(s)) return [ANY];
  const choices = Array.isArray(s.oneOf) ? s.oneOf : Array.isArray(s.anyOf) ? s.anyOf : null;
  if (choices) return choices.flatMap((c) => openSchema(c));
  const parts = Array.isArray(s.allOf) ? [s, ...s.allOf.filter(isObject)] : [s];
  const types = new Set<string>();
  for (const p of parts) for (const ty of [p.type].flat()) if (typeof ty === 'string') types.add(ty);
  if (s.nullable === true) types.add('null');
  const hasProps = parts.some((p) => isObject(p.properties));
  if (types.size === 0 && hasProps) types.add('object');
  if (types.size === 0 && isObject(s.items)) types.add('array');
  if (types.size === 0) return [ANY];
  const out: T[] = [];
  for (const ty of types) {
    if (ty === 'object') out.push(openObject(parts));
    else if (ty === 'array') out.push(arrayOf(raw(parts.find((p) => p.items !== undefined)?.items ?? true)));
    else if (SCALARS.includes(ty)) out.push({ k: 'scalar', type: ty as ScalarType, schema: scalarFacets(s, ty) });
  }
  return out;
}

/** allOf parts merged: every property of every part, required where any part requires it. */
function openObject(parts: Obj[]): T {
  const props = new Map<string, { t: T; required: boolean }>();
  let additional: T | false = ANY;
  for (const p of parts) {
    const required = Array.isArray(p.required) ? p.required : [];
    if (isObject(p.properties)) {
      for (const [name, schema] of Object.entries(p.properties)) {
        const before = props.get(name);
        props.set(name, { t: before ? before.t : raw(schema), required: (before?.required ?? false) || required.includes(name) });
      }
    }
    for (const name of required) {
      const before = props.get(String(name));
      if (before) before.required = true;
    }
    // An object schema that does not close itself may hold any other property.
    if (isObject(p.additionalProperties)) additional = raw(p.additionalProperties);
    else if (p.additionalProperties === false && additional === ANY) additional = false;
  }
  return { k: 'object', props, additional };
}

/** The keywords of a scalar schema worth keeping (format, enum, const, description ...), for one of its types. */
function scalarFacets(s: Obj, type: string): Obj {
  const out: Obj = { type };
  for (const key of ['format', 'enum', 'const', 'description', 'pattern', 'minimum', 'maximum', 'minLength', 'maxLength']) {
    if (s[key] !== undefined) out[key] = s[key];
  }
  if (Array.isArray(out.enum)) out.enum = out.enum.filter((v) => typeName(v) === type || (type === 'number' && typeof v === 'number'));
  return out;
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

/** Spec schemas deeper than this (a circular one, dereferenced) become `{}` in the output. */
const MAX_DEPTH = 12;

export const DRAFT_2020_12 = 'https://json-schema.org/draft/2020-12/schema';

/** The JSON Schema (draft 2020-12) of a type. */
export function toSchema(t: T): Obj {
  switch (t.k) {
    case 'any':
      return {};
    case 'raw':
      return portable(t.schema, 0, new Set()) as Obj;
    case 'scalar':
      return t.schema ?? { type: t.type };
    case 'array':
      return isNever(t.items) ? { type: 'array', maxItems: 0 } : { type: 'array', items: toSchema(t.items) };
    case 'object': {
      const properties: Obj = {};
      const required: string[] = [];
      for (const [name, p] of t.props) {
        properties[name] = toSchema(p.t);
        if (p.required) required.push(name);
      }
      const out: Obj = { type: 'object', properties };
      if (required.length > 0) out.required = required;
      if (t.additional !== false && t.additional.k !== 'any') out.additionalProperties = toSchema(t.additional);
      return out;
    }
    case 'union': {
      if (t.of.length === 0) return { not: {} };
      const schemas = t.of.map(toSchema);
      // Plain types (`{type: x}` only) read better as one type list.
      if (schemas.every((s) => Object.keys(s).length === 1 && typeof s.type === 'string')) return { type: schemas.map((s) => s.type) };
      return { anyOf: schemas };
    }
  }
}

/**
 * A spec schema as draft 2020-12 has it: without cycles (depth-capped), OpenAPI 3.0's
 * `nullable` as a `null` type, and OpenAPI-only keywords (discriminator, xml) dropped.
 */
function portable(value: unknown, depth: number, seen: Set<object>): unknown {
  if (Array.isArray(value)) return value.map((v) => portable(v, depth, seen));
  if (!isObject(value)) return value;
  if (seen.has(value) || depth > MAX_DEPTH) return {};
  seen.add(value);
  const out: Obj = {};
  for (const [k, v] of Object.entries(value)) {
    if (k === 'nullable' || k === 'discriminator' || k === 'xml' || k === 'externalDocs' || k === 'example') continue;
    out[k] = portable(v, depth + 1, seen);
  }
  if (value.nullable === true && out.type !== undefined) {
    out.type = [...new Set([...[out.type].flat(), 'null'])];
  }
  if (value.example !== undefined) out.examples = [portable(value.example, depth + 1, seen)];
  seen.delete(value);
  return out;
}
