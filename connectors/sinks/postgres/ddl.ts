import type pg from 'pg';
import { CODES, ReflexError } from '../../../src/sdk/index.js';
import { catalogName, compatibleType } from './column-types.js';
import { run } from './errors.js';
import { quoteIdent } from './identifiers.js';
import type { Layout } from './layout.js';
import type { TableDef } from './tables.js';

/** A table that exists with a shape the sink cannot write: startup stops with what differs and the way out. */
export class TableShapeError extends ReflexError {
  constructor(message: string) {
    super(CODES.sinkTableShape, message);
  }
}

/** `CREATE TABLE IF NOT EXISTS` for one table. */
export function createTableSql(layout: Layout, table: TableDef): string {
  const cols = table.columns.map((c) => `${quoteIdent(c.name)} ${c.type}${c.notNull ? ' NOT NULL' : ''}${c.default ? ` DEFAULT ${c.default}` : ''}`);
  cols.push(`PRIMARY KEY (${table.primaryKey.map(quoteIdent).join(', ')})`);
  if (table.unique) cols.push(`UNIQUE (${table.unique.map(quoteIdent).join(', ')})`);
  return `CREATE TABLE IF NOT EXISTS ${layout.qualified(table)} (${cols.join(', ')})`;
}

/**
 * Creates the schema and the tables that are missing (idempotent), then checks that each table has
 * every column the sink writes, with a type that takes its values, and a unique key over the
 * columns its upserts name. Extra columns are the user's and stay.
 */
export async function prepareTables(client: pg.Client, layout: Layout, tables: TableDef[]): Promise<void> {
  // Only what is missing: `CREATE ... IF NOT EXISTS` checks the CREATE privilege even when nothing
  // is created, and a sink may run as a role that can write the tables but not create them.
  const schema = quoteIdent(layout.schema);
  const hasSchema = await run(client, schema, 'SELECT 1 FROM pg_namespace WHERE nspname = $1', [layout.schema]);
  if (hasSchema.rows.length === 0) await run(client, schema, `CREATE SCHEMA IF NOT EXISTS ${schema}`);
  const existing = await run(client, schema, 'SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = ANY($2::text[])', [layout.schema, tables.map((t) => t.name)]);
  const present = new Set(existing.rows.map((r: { relname: string }) => r.relname));
  for (const table of tables) if (!present.has(table.name)) await run(client, layout.qualified(table), createTableSql(layout, table));
  const found = await client.query<{ table: string; kind: string; column: string | null; type: string | null }>(
    `SELECT c.relname AS table, c.relkind AS kind, a.attname AS column, format_type(a.atttypid, a.atttypmod) AS type
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
      WHERE n.nspname = $1 AND c.relname = ANY($2::text[])`,
    [layout.schema, tables.map((t) => t.name)],
  );
  const keys = await client.query<{ table: string; columns: string[] }>(
    `SELECT c.relname AS table, array_agg(a.attname::text ORDER BY a.attname) AS columns
       FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY(i.indkey)
      WHERE n.nspname = $1 AND c.relname = ANY($2::text[]) AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL
      GROUP BY c.relname, i.indexrelid`,
    [layout.schema, tables.map((t) => t.name)],
  );
  for (const table of tables) checkShape(layout, table, found.rows.filter((r) => r.table === table.name), keys.rows.filter((k) => k.table === table.name).map((k) => k.columns));
}

function checkShape(layout: Layout, table: TableDef, rows: Array<{ kind: string; column: string | null; type: string | null }>, uniqueKeys: string[][]): void {
  const name = layout.qualified(table);
  const wayOut = `drop or rename that table, or have the sink write another one with \`tables: {${table.role.replace(/^resource /, '')}: <name>}\``;
  const kind = rows[0]?.kind;
  if (kind !== 'r' && kind !== 'p') {
    throw new TableShapeError(`${name} (the sink's ${table.role} table) is ${kind === 'v' ? 'a view' : kind === 'm' ? 'a materialized view' : 'not a table'}; ${wayOut}`);
  }
  const types = new Map(rows.filter((r) => r.column !== null).map((r) => [r.column!, r.type!]));
  for (const col of table.columns) {
    const type = types.get(col.name);
    if (type === undefined) {
      throw new TableShapeError(`${name} (the sink's ${table.role} table) exists without column ${quoteIdent(col.name)} (expected ${catalogName(col.type)}); ${wayOut}${table.role.startsWith('resource ') ? ', or add the column yourself (rows written before keep it NULL)' : ''}`);
    }
    if (!compatibleType(col.type, type)) {
      throw new TableShapeError(`${name} (the sink's ${table.role} table): column ${quoteIdent(col.name)} is ${type}, expected ${catalogName(col.type)}; ${wayOut}`);
    }
  }
  const key = [...table.primaryKey].sort();
  if (!uniqueKeys.some((k) => k.length === key.length && [...k].sort().every((c, i) => c === key[i]))) {
    throw new TableShapeError(`${name} (the sink's ${table.role} table) has no primary key or unique index on (${table.primaryKey.join(', ')}), which its upserts need; ${wayOut}`);
  }
}
