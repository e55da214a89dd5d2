/** The SQL types a typed column may have, as reflex.yaml spells them. */
export const SQL_TYPES = ['text', 'bigint', 'numeric', 'double precision', 'boolean', 'timestamptz', 'jsonb'] as const;
export type SqlType = (typeof SQL_TYPES)[number];

/** How `format_type()` names each type the sink creates, for the shape check. */
const CATALOG_NAMES: Record<string, string> = {
  text: 'text', bigint: 'bigint', numeric: 'numeric', 'double precision': 'double precision', boolean: 'boolean',
  timestamptz: 'timestamp with time zone', jsonb: 'jsonb', 'text[]': 'text[]',
};

/** The catalog's name of a type the sink declares (`timestamptz` -> `timestamp with time zone`). */
export function catalogName(sqlType: string): string {
  return CATALOG_NAMES[sqlType] ?? sqlType;
}

/** Whether a column the catalog reports as `found` takes values the sink writes as `expected`. */
export function compatibleType(expected: string, found: string): boolean {
  const want = catalogName(expected);
  if (want === found) return true;
  // An unbounded varchar takes any text; a bounded one (character varying(20)) may not.
  return want === 'text' && found === 'character varying';
}

type JsonSchema = Record<string, unknown>;

/**
 * The SQL type of the value at `path` (property names from the state's root) as the resource's
 * JSON Schema describes it, or null when the schema does not say (no schema, a property it does not
 * list, a union of types). A path through an array maps over its items, so it gives jsonb.
 */
export function inferSqlType(schema: JsonSchema | undefined, path: readonly string[]): SqlType | null {
  let node: JsonSchema | undefined = schema;
  for (const name of path) {
    if (!node) return null;
    const type = singleType(node);
    if (type === 'array') return 'jsonb';
    node = propertyOf(node, name);
  }
  return node ? typeOfLeaf(node) : null;
}

function typeOfLeaf(schema: JsonSchema): SqlType | null {
  switch (singleType(schema)) {
    case 'string':
      return schema.format === 'date-time' ? 'timestamptz' : 'text';
    case 'integer':
      return 'bigint';
    case 'number':
      return 'numeric';
    case 'boolean':
      return 'boolean';
    case 'object':
    case 'array':
      return 'jsonb';
    default:
      return null;
  }
}

/** The schema's one type besides null (OpenAPI 3.0 `nullable`, 3.1 `type: [x, 'null']`), else undefined. */
function singleType(schema: JsonSchema): string | undefined {
  const t = schema.type;
  if (typeof t === 'string') return t;
  if (Array.isArray(t)) {
    const real = t.filter((x) => x !== 'null');
    return real.length === 1 && typeof real[0] === 'string' ? real[0] : undefined;
  }
  // `allOf: [{$ref}]` is how OpenAPI documents add a description to a referenced schema.
  const all = Array.isArray(schema.allOf) ? (schema.allOf as JsonSchema[]).map(singleType).filter((x) => x !== undefined) : [];
  if (all.length > 0 && all.every((x) => x === all[0])) return all[0];
  if (schema.properties) return 'object';
  return undefined;
}

function propertyOf(schema: JsonSchema, name: string): JsonSchema | undefined {
  const props = schema.properties as Record<string, JsonSchema> | undefined;
  if (props && Object.hasOwn(props, name)) return props[name];
  for (const part of Array.isArray(schema.allOf) ? (schema.allOf as JsonSchema[]) : []) {
    const found = propertyOf(part, name);
    if (found) return found;
  }
  return undefined;
}
