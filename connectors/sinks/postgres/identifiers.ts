/**
 * SQL identifiers. Schema, table and column names come from reflex.yaml and the specs (resource
 * names are user data), so every one is double-quoted with embedded quotes doubled, never pasted in.
 */

/** PostgreSQL keeps the first 63 bytes of a name (NAMEDATALEN - 1) and silently drops the rest. */
export const MAX_IDENTIFIER_BYTES = 63;

/** `name` as a quoted identifier: `my "x"` -> `"my ""x"""`. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** `schema.table`, both quoted. */
export function qualified(schema: string, table: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(table)}`;
}

/**
 * Why `name` cannot be an identifier, or null. A NUL cannot be stored at all; a name past 63 bytes
 * would be truncated, and two long names could then land on one table.
 */
export function identifierProblem(name: string): string | null {
  if (name.length === 0) return 'is empty';
  if (name.includes('\0')) return 'contains a NUL character, which PostgreSQL names cannot hold';
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes > MAX_IDENTIFIER_BYTES) return `is ${bytes} bytes long; PostgreSQL keeps only ${MAX_IDENTIFIER_BYTES} bytes of a name`;
  return null;
}
