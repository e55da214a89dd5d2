/**
 * (j) the tables both sides write, named as the postgres sink names them from its settings, and
 * what the section checks in them once a side is done.
 */
import pg from 'pg';
import { qualified } from '../connectors/sinks/postgres/identifiers.js';
import type { FloorTables } from './postgres-floor.js';
import { PG_RESOURCE, PG_STREAM } from './postgres-workload.js';

/** The sink's tables for the workload's resource: `<schema>.changes`, `<schema>.orders`, `<schema>.reflex_offsets` unless `tables:` renames them. */
export function sinkTables(sink: string, settings: Record<string, unknown>): FloorTables {
  const schema = (settings.schema as string | undefined) ?? 'reflex';
  const renamed = (settings.tables as Record<string, string> | undefined) ?? {};
  return {
    sink,
    changes: qualified(schema, renamed.changes ?? 'changes'),
    resource: qualified(schema, renamed[PG_RESOURCE] ?? PG_RESOURCE),
    offsets: qualified(schema, renamed.offsets ?? 'reflex_offsets'),
  };
}

export interface TableFacts {
  changes: number;
  resourceRows: number;
  /** The offsets row of the changelog stream, null when there is none. */
  offset: number | null;
  /** Order-independent checksum of the resource table's rows: equal on both sides when they hold the same rows. */
  resourceChecksum: string;
  /** The same over every column of the changes table. */
  changesChecksum: string;
  databaseBytes: number;
}

/** Counts and checksums of what a side wrote into the database at `url`. */
export async function tableFacts(url: string, t: FloorTables): Promise<TableFacts> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const row = (await client.query<Record<string, string | null>>(
      `SELECT (SELECT count(*) FROM ${t.changes}) AS changes,
              (SELECT count(*) FROM ${t.resource}) AS resource_rows,
              (SELECT "offset" FROM ${t.offsets} WHERE sink = $1 AND stream = $2) AS "offset",
              (SELECT coalesce(sum(hashtext(concat_ws('|', key, state::text, version, updated_at))::bigint), 0) FROM ${t.resource}) AS resource_checksum,
              (SELECT coalesce(sum(hashtext(concat_ws('|', stream, "offset", key, op, coalesce(before::text, '-'), coalesce(after::text, '-'), changed::text, ts_ms, source::text))::bigint), 0)
                 FROM ${t.changes}) AS changes_checksum,
              pg_database_size(current_database()) AS database_bytes`,
      [t.sink, PG_STREAM],
    )).rows[0]!;
    return {
      changes: Number(row.changes), resourceRows: Number(row.resource_rows), offset: row.offset === null ? null : Number(row.offset),
      resourceChecksum: row.resource_checksum!, changesChecksum: row.changes_checksum!, databaseBytes: Number(row.database_bytes),
    };
  } finally {
    await client.end();
  }
}

/** Drops the database at `url` (its autovacuum would otherwise run beside the next side) and runs a checkpoint. */
export async function dropDatabase(serverUrl: string, url: string): Promise<void> {
  const name = decodeURIComponent(new URL(url).pathname.slice(1));
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${name.replaceAll('"', '""')}" WITH (FORCE)`);
    await client.query('CHECKPOINT');
  } finally {
    await client.end();
  }
}
