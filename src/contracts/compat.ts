/**
 * Changes between two sets of contracts that break a consumer written against the old one:
 * an event type (or a resource's changelog) that is gone, a field removed, a field that may
 * now be missing, a field whose values may now be of another type. Added event types, added
 * fields and narrower types are compatible.
 */
import { isObject, type Obj } from '../spec/doc.js';
import { escapePointerToken } from '../model/json-pointer.js';
import type { Contracts } from './contracts.js';

export interface BreakingChange {
  /** The CloudEvents type, or `<resource>.changelog`. */
  subject: string;
  /** JSON pointer into the event's data (the change record for a changelog); `*` stands for any array element. */
  pointer: string;
  kind: 'event-removed' | 'changelog-removed' | 'field-removed' | 'field-optional' | 'type-changed';
  message: string;
}

export function breakingChanges(before: Contracts, after: Contracts): BreakingChange[] {
  const out: BreakingChange[] = [];
  for (const old of before.events) {
    const now = after.events.find((e) => e.type === old.type);
    if (!now) {
      out.push({ subject: old.type, pointer: '', kind: 'event-removed', message: `event type ${old.type} is no longer produced` });
      continue;
    }
    compare(old.schema, now.schema, '', (c) => out.push({ subject: old.type, ...c }));
  }
  for (const old of before.resources) {
    const now = after.resources.find((r) => r.resource === old.resource);
    if (!now) {
      out.push({ subject: old.stream, pointer: '', kind: 'changelog-removed', message: `resource ${old.resource} no longer has a changelog` });
      continue;
    }
    compare(old.state, now.state, '/after', (c) => out.push({ subject: old.stream, ...c }));
  }
  return out;
}

type Found = Omit<BreakingChange, 'subject'>;

/** A schema read as what a consumer can rely on: the value's types, an object's fields, an array's elements. */
interface Shape {
  /** null: any value. */
  types: Set<string> | null;
  fields: Map<string, { schemas: unknown[]; required: number }>;
  /** How many alternatives are objects: a field is always there when each of them requires it. */
  objects: number;
  items: unknown[];
}

function compare(before: unknown, after: unknown, pointer: string, found: (c: Found) => void): void {
  const old = shapeOf(before);
  if (old.types === null) return; // nothing was promised
  const now = shapeOf(after);
  const added = now.types === null ? ['any value'] : [...now.types].filter((t) => !admits(old.types!, t));
  if (added.length > 0) {
    found({ pointer, kind: 'type-changed', message: `${where(pointer)} was ${describe(old.types)}, now ${now.types === null ? 'any value' : describe(now.types)}` });
    return;
  }
  for (const [name, field] of old.fields) {
    const at = `${pointer}/${escapePointerToken(name)}`;
    const next = now.fields.get(name);
    if (!next) {
      found({ pointer: at, kind: 'field-removed', message: `${where(at)} was removed` });
      continue;
    }
    if (field.required === old.objects && next.required < now.objects) found({ pointer: at, kind: 'field-optional', message: `${where(at)} was always there, now it may be missing` });
    compare(anyOf(field.schemas), anyOf(next.schemas), at, found);
  }
  if (old.items.length > 0 && now.items.length > 0) compare(anyOf(old.items), anyOf(now.items), `${pointer}/*`, found);
}

function anyOf(schemas: unknown[]): unknown {
  return schemas.length === 1 ? schemas[0] : { anyOf: schemas };
}

/** Integers are numbers: a field that was a number may now hold integers only. */
function admits(types: Set<string>, type: string): boolean {
  return types.has(type) || (type === 'integer' && types.has('number'));
}

function shapeOf(schema: unknown): Shape {
  const shape: Shape = { types: new Set(), fields: new Map(), objects: 0, items: [] };
  if (!collect(schema, shape)) shape.types = null;
  return shape;
}

/** Adds a schema's alternatives to the shape; false when it admits any value. */
function collect(schema: unknown, shape: Shape): boolean {
  if (!isObject(schema)) return schema !== true;
  const choices = Array.isArray(schema.anyOf) ? schema.anyOf : Array.isArray(schema.oneOf) ? schema.oneOf : null;
  if (choices) return choices.every((c) => collect(c, shape));
  const types = typesOf(schema);
  if (types.length === 0) return isObject(schema.not) && Object.keys(schema.not).length === 0; // `{not: {}}`: no value
  for (const t of types) shape.types!.add(t);
  if (types.includes('object')) {
    shape.objects++;
    const required = Array.isArray(schema.required) ? schema.required : [];
    for (const [name, s] of Object.entries(isObject(schema.properties) ? schema.properties : {})) {
      const field = shape.fields.get(name) ?? { schemas: [], required: 0 };
      field.schemas.push(s);
      if (required.includes(name)) field.required++;
      shape.fields.set(name, field);
    }
  }
  if (types.includes('array') && schema.items !== undefined) shape.items.push(schema.items);
  return true;
}

function typesOf(schema: Obj): string[] {
  if (typeof schema.type === 'string') return [schema.type];
  if (Array.isArray(schema.type)) return schema.type.filter((t): t is string => typeof t === 'string');
  const values = 'const' in schema ? [schema.const] : Array.isArray(schema.enum) ? schema.enum : [];
  const out = new Set<string>();
  for (const v of values) out.add(v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v === 'number' ? (Number.isInteger(v) ? 'integer' : 'number') : typeof v);
  if (isObject(schema.properties)) out.add('object');
  return [...out];
}

function describe(types: Set<string>): string {
  return [...types].join(' or ');
}

function where(pointer: string): string {
  return pointer === '' ? 'data' : pointer;
}
