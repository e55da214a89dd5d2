/**
 * (j) the floor: `pg` alone writing the rows the postgres sink writes for a changelog stream (one
 * `changes` row per record, the resource table upserted or deleted per key, the offsets row), one
 * transaction per batch of the sink's batch size, reading the batches from the same store. Three
 * ways of writing a batch are measured; the section keeps the fastest as the floor.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { ChangeRecord, StreamRecord } from '../src/model/records.js';
import { SqliteStore } from '../src/store/sqlite-store.js';
import { textArrayLiteral } from '../connectors/sinks/postgres/sql-values.js';
import { PG_STREAM } from './postgres-workload.js';

export const FLOOR_METHODS = ['values', 'unnest', 'copy'] as const;
export type FloorMethod = (typeof FLOOR_METHODS)[number];

/** Where the floor writes: the same tables the sink writes, quoted and qualified, and the sink's name in the offsets table. */
export interface FloorTables {
  sink: string;
  changes: string;
  resource: string;
  offsets: string;
}

export interface FloorResult {
  records: number;
  batches: number;
  seconds: number;
}

type Batch = Array<StreamRecord<ChangeRecord>>;

/** One column value per change record, as the sink stores it: jsonb as JSON text, changed as a text[] literal. */
interface ChangeRow {
  offset: number; key: string; op: string; before: string | null; after: string | null; changed: string; tsMs: number; source: string;
}

/** JSON text for a jsonb column: a JSON null stays the jsonb `null` (as the sink stores it), only a missing value is SQL NULL. */
const json = (v: unknown) => (v === undefined ? null : JSON.stringify(v));

function changeRows(batch: Batch): ChangeRow[] {
  return batch.map(({ offset, value: r }) => ({
    offset, key: r.key, op: r.op, before: json(r.before), after: json(r.after), changed: textArrayLiteral(r.changed), tsMs: r.ts_ms, source: JSON.stringify(r.source),
  }));
}

/** Each key's last change in the batch: one upsert or one delete per key (a statement may touch a row once). */
function lastPerKey(rows: ChangeRow[]): { upserts: ChangeRow[]; deletes: string[] } {
  const last = new Map<string, ChangeRow>();
  for (const row of rows) last.set(row.key, row);
  const upserts: ChangeRow[] = [];
  const deletes: string[] = [];
  for (const row of last.values()) {
    if (row.op === 'd') deletes.push(row.key);
    else upserts.push(row);
  }
  return { upserts, deletes };
}

/** `($1,$2,...),(...)` for `rows` rows of `width` parameters, with a cast per column. */
function placeholders(rows: number, casts: readonly string[]): string {
  const out: string[] = [];
  for (let r = 0, p = 1; r < rows; r++) out.push(`(${casts.map((c) => `$${p++}${c}`).join(',')})`);
  return out.join(',');
}

const CHANGE_COLUMNS = '(stream, "offset", key, op, before, after, changed, ts_ms, source)';
const CHANGE_CASTS = ['', '::bigint', '', '', '::jsonb', '::jsonb', '::text[]', '::bigint', '::jsonb'];
const RESOURCE_CASTS = ['', '::jsonb', '::bigint', '::bigint'];

/** Writes one batch in its own transaction; `client` is in no transaction before and after. */
type BatchWriter = (client: pg.Client, batch: Batch) => Promise<void>;

function writers(t: FloorTables): Record<FloorMethod, BatchWriter> {
  const upsertTail = `ON CONFLICT (key) DO UPDATE SET state = excluded.state, version = excluded.version, updated_at = excluded.updated_at`;
  const offsetsSql = `INSERT INTO ${t.offsets} (sink, stream, "offset", updated_at) VALUES ($1, $2, $3, now())
                      ON CONFLICT (sink, stream) DO UPDATE SET "offset" = excluded."offset", updated_at = excluded.updated_at`;
  const deleteSql = `DELETE FROM ${t.resource} WHERE key = ANY($1::text[])`;
  const finish = async (client: pg.Client, batch: Batch, deletes: string[]) => {
    if (deletes.length > 0) await client.query({ name: 'floor-delete', text: deleteSql, values: [deletes] });
    await client.query({ name: 'floor-offsets', text: offsetsSql, values: [t.sink, PG_STREAM, batch.at(-1)!.offset] });
    await client.query('COMMIT');
  };
  return {
    /** Multi-row INSERT ... VALUES with one parameter per value. */
    async values(client, batch) {
      const rows = changeRows(batch);
      const { upserts, deletes } = lastPerKey(rows);
      await client.query('BEGIN');
      await client.query(
        `INSERT INTO ${t.changes} ${CHANGE_COLUMNS} VALUES ${placeholders(rows.length, CHANGE_CASTS)}`,
        rows.flatMap((r) => [PG_STREAM, r.offset, r.key, r.op, r.before, r.after, r.changed, r.tsMs, r.source]),
      );
      if (upserts.length > 0) {
        await client.query(
          `INSERT INTO ${t.resource} (key, state, version, updated_at) SELECT k, s, v, to_timestamp(ms / 1000.0)
           FROM (VALUES ${placeholders(upserts.length, RESOURCE_CASTS)}) AS u(k, s, v, ms) ${upsertTail}`,
          upserts.flatMap((r) => [r.key, r.after, r.offset, r.tsMs]),
        );
      }
      await finish(client, batch, deletes);
    },
    /** One array parameter per column, unnest-ed server side: a fixed statement, prepared once. */
    async unnest(client, batch) {
      const rows = changeRows(batch);
      const { upserts, deletes } = lastPerKey(rows);
      await client.query('BEGIN');
      await client.query({
        name: 'floor-changes',
        text: `INSERT INTO ${t.changes} ${CHANGE_COLUMNS}
               SELECT $1, o, k, op, b::jsonb, a::jsonb, c::text[], ms, s::jsonb
               FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bigint[], $9::text[]) AS u(o, k, op, b, a, c, ms, s)`,
        values: [PG_STREAM, rows.map((r) => r.offset), rows.map((r) => r.key), rows.map((r) => r.op), rows.map((r) => r.before),
          rows.map((r) => r.after), rows.map((r) => r.changed), rows.map((r) => r.tsMs), rows.map((r) => r.source)],
      });
      if (upserts.length > 0) {
        await client.query({
          name: 'floor-upsert',
          text: `INSERT INTO ${t.resource} (key, state, version, updated_at)
                 SELECT k, s::jsonb, v, to_timestamp(ms / 1000.0) FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[]) AS u(k, s, v, ms) ${upsertTail}`,
          values: [upserts.map((r) => r.key), upserts.map((r) => r.after), upserts.map((r) => r.offset), upserts.map((r) => r.tsMs)],
        });
      }
      await finish(client, batch, deletes);
    },
    /**
     * COPY the change rows straight into the changes table (text format), then merge each key's last
     * live row of the batch from there into the resource table: the changes table is the staging table.
     */
    async copy(client, batch) {
      const rows = changeRows(batch);
      const { upserts, deletes } = lastPerKey(rows);
      await client.query('BEGIN');
      await pipeline(Readable.from([copyText(rows)]), client.query(copyFrom(`COPY ${t.changes} ${CHANGE_COLUMNS} FROM STDIN`)));
      if (upserts.length > 0) {
        await client.query({
          name: 'floor-merge',
          text: `INSERT INTO ${t.resource} (key, state, version, updated_at)
                 SELECT c.key, c.after, c."offset", to_timestamp(c.ts_ms / 1000.0) FROM ${t.changes} c
                 WHERE c.stream = $1 AND c."offset" = ANY($2::bigint[]) ${upsertTail}`,
          values: [PG_STREAM, upserts.map((r) => r.offset)],
        });
      }
      await finish(client, batch, deletes);
    },
  };
}

/** COPY text format: tab between columns, `\N` for null, backslash, tab, newline and CR escaped. */
function copyField(v: string | number | null): string {
  if (v === null) return '\\N';
  if (typeof v === 'number') return String(v);
  return /[\\\t\n\r]/.test(v) ? v.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r')) : v;
}

function copyText(rows: ChangeRow[]): string {
  const stream = copyField(PG_STREAM);
  let out = '';
  for (const r of rows) {
    out += `${stream}\t${r.offset}\t${copyField(r.key)}\t${r.op}\t${copyField(r.before)}\t${copyField(r.after)}\t${copyField(r.changed)}\t${r.tsMs}\t${copyField(r.source)}\n`;
  }
  return out;
}

/**
 * Reads the store's changelog in batches of `batchSize` (the first `limit` records) and writes each
 * with `method`, one transaction each.
 */
export async function runFloor(url: string, storePath: string, tables: FloorTables, batchSize: number, method: FloorMethod, limit = Infinity): Promise<FloorResult> {
  const store = new SqliteStore({ path: storePath, retentionMs: 0, dedupeWindowMs: 0, synchronous: 'normal' });
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const write = writers(tables)[method];
  let records = 0;
  let batches = 0;
  try {
    const started = performance.now();
    for (let after = 0; records < limit; ) {
      const batch = store.read(PG_STREAM, after, Math.min(batchSize, limit - records)) as Batch;
      if (batch.length === 0) break;
      await write(client, batch);
      records += batch.length;
      batches++;
      after = batch.at(-1)!.offset;
    }
    return { records, batches, seconds: (performance.now() - started) / 1000 };
  } finally {
    await client.end();
    store.close();
  }
}

/** The least any reader of the store does: the same reads in the same batches, nothing written. */
export function readOnly(storePath: string, batchSize: number): FloorResult {
  const store = new SqliteStore({ path: storePath, retentionMs: 0, dedupeWindowMs: 0, synchronous: 'normal' });
  let records = 0;
  let batches = 0;
  try {
    const started = performance.now();
    for (let after = 0; ; batches++) {
      const batch = store.read(PG_STREAM, after, batchSize);
      if (batch.length === 0) break;
      records += batch.length;
      after = batch.at(-1)!.offset;
    }
    return { records, batches, seconds: (performance.now() - started) / 1000 };
  } finally {
    store.close();
  }
}
