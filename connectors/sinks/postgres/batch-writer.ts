import type pg from 'pg';
import type { StreamRecord } from '../../../src/sdk/index.js';
import { copyInto, forgetStaging } from './copy-rows.js';
import { run, StatementError } from './errors.js';
import { quoteIdent } from './identifiers.js';
import type { Layout } from './layout.js';
import { changeColumns, eventColumns, lastChangePerKey } from './rows.js';
import { jsonbText, sqlText } from './sql-values.js';
import type { TableDef } from './tables.js';
import type { TypedColumn } from './typed-columns.js';

/** How rows reach their table: `insert` (unnest arrays) or `copy` (COPY into a staging table, then INSERT ... SELECT). */
export type WriteMethod = 'insert' | 'copy';


/**
 * Writes one batch of one stream in one transaction: the rows past the sink's stored offset for
 * that stream (read FOR UPDATE, so a batch offered twice, or by two processes at once, lands once),
 * the resource rows, and the new offset. Either all of it commits or none.
 * Rows go in as one INSERT ... SELECT FROM unnest(...) per table: one parameter per column whatever
 * the batch size, no 65535-parameter limit, and the statement text stays the same batch after batch.
 */
export async function writeBatch(
  client: pg.Client, layout: Layout, sink: string, records: readonly StreamRecord[], method: WriteMethod = 'insert',
  /** The row of `reflex_offsets` that holds the batch's position: its stream, or in cluster mode its topic partition. */
  position: string = records[0]!.stream,
): Promise<void> {
  const stream = records[0]!.stream;
  const offsets = layout.qualified(layout.offsets);
  await client.query('BEGIN');
  try {
    const stored = await run(client, offsets, `SELECT "offset" FROM ${offsets} WHERE sink = $1 AND stream = $2 FOR UPDATE`, [sqlText(sink), sqlText(position)]);
    const after = stored.rows.length > 0 ? Number(stored.rows[0].offset) : 0;
    const fresh = after > 0 ? records.filter((r) => r.offset > after) : records;
    if (fresh.length > 0) {
      const resource = layout.resourceOf(stream);
      if (resource === null) await insertEvents(client, layout, stream, fresh, method);
      else {
        await insertChanges(client, layout, stream, fresh, method);
        const { table, typed } = layout.resource(resource);
        await applyToResource(client, layout, table, typed, fresh, method);
      }
      await run(client, offsets,
        `INSERT INTO ${offsets} (sink, stream, "offset", updated_at) VALUES ($1, $2, $3, now())
         ON CONFLICT (sink, stream) DO UPDATE SET "offset" = EXCLUDED."offset", updated_at = EXCLUDED.updated_at`,
        [sqlText(sink), sqlText(position), fresh[fresh.length - 1]!.offset]);
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    forgetStaging(client);
    throw err;
  }
}

const STAGE_CHANGES = 'reflex_stage_changes';
const EVENT_NAMES = ['stream', 'offset', 'id', 'specversion', 'type', 'source', 'subject', 'time', 'datacontenttype', 'data', 'reflexoperation', 'reflexrequestid', 'extensions'];
const CHANGE_NAMES = ['stream', 'offset', 'key', 'op', 'before', 'after', 'changed', 'ts_ms', 'source'];

async function insertEvents(client: pg.Client, layout: Layout, stream: string, records: readonly StreamRecord[], method: WriteMethod): Promise<void> {
  const table = layout.qualified(layout.events);
  const c = eventColumns(records);
  const columns = [c.offset, c.id, c.specversion, c.type, c.source, c.subject, c.time, c.datacontenttype, c.data, c.reflexoperation, c.reflexrequestid, c.extensions];
  if (method === 'copy') return copyThenInsert(client, table, 'reflex_stage_events', EVENT_NAMES, [c.offset.map(() => sqlText(stream)), ...columns]);
  // ON CONFLICT DO NOTHING: an id already stored (the same event logged twice) is not stored again.
  await run(client, table,
    `INSERT INTO ${table} (${EVENT_NAMES.map(quoteIdent).join(', ')})
     SELECT $1::text, u.* FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::timestamptz[], $9::text[], $10::jsonb[], $11::text[], $12::text[], $13::jsonb[]) AS u
     ON CONFLICT DO NOTHING`,
    [sqlText(stream), ...columns]);
}

async function insertChanges(client: pg.Client, layout: Layout, stream: string, records: readonly StreamRecord[], method: WriteMethod): Promise<void> {
  const table = layout.qualified(layout.changes);
  const c = changeColumns(records);
  const columns = [c.offset, c.key, c.op, c.before, c.after, c.changed, c.tsMs, c.source];
  if (method === 'copy') return copyThenInsert(client, table, STAGE_CHANGES, CHANGE_NAMES, [c.offset.map(() => sqlText(stream)), ...columns]);
  await run(client, table,
    `INSERT INTO ${table} (${CHANGE_NAMES.map(quoteIdent).join(', ')})
     SELECT $1::text, u.o, u.k, u.op, u.b, u.a, u.ch::text[], u.ts, u.src
       FROM unnest($2::bigint[], $3::text[], $4::text[], $5::jsonb[], $6::jsonb[], $7::text[], $8::bigint[], $9::jsonb[]) AS u(o, k, op, b, a, ch, ts, src)
     ON CONFLICT DO NOTHING`,
    [sqlText(stream), ...columns]);
}

/** COPY into the session's staging table, then one INSERT ... SELECT into the table (ON CONFLICT needs a real INSERT). */
async function copyThenInsert(client: pg.Client, table: string, staging: string, names: readonly string[], columns: readonly (readonly unknown[])[]): Promise<void> {
  const list = names.map(quoteIdent).join(', ');
  try {
    await copyInto(client, staging, table, names, columns);
  } catch (err) {
    throw new StatementError(table, err);
  }
  await run(client, table, `INSERT INTO ${table} (${list}) SELECT ${list} FROM ${quoteIdent(staging)} ON CONFLICT DO NOTHING`, []);
}

/**
 * Brings the resource table to the state after the batch: only each key's last change matters (a
 * `d` deletes the row, any other op upserts `after`). `version` guards both, so a row never goes back
 * to an older change.
 */
async function applyToResource(client: pg.Client, layout: Layout, def: TableDef, typed: readonly TypedColumn[], records: readonly StreamRecord[], method: WriteMethod): Promise<void> {
  const table = layout.qualified(def);
  const last = lastChangePerKey(records);
  const upserts = last.filter((l) => l.change.op !== 'd');
  const deletes = last.filter((l) => l.change.op === 'd');
  if (upserts.length > 0 && method === 'copy' && typed.length === 0) {
    // The states are in the staging table already (COPY of the change rows): take them from there
    // instead of sending and parsing every state a second time (bench j: 0.6 → 0.8 of pg alone).
    await run(client, table,
      `INSERT INTO ${table} AS t (key, state, version, updated_at)
       SELECT s.key, s.after, s."offset", to_timestamp(s.ts_ms / 1000.0) FROM ${quoteIdent(STAGE_CHANGES)} s WHERE s."offset" = ANY($1::bigint[])
       ON CONFLICT (key) DO UPDATE SET state = EXCLUDED.state, version = EXCLUDED.version, updated_at = EXCLUDED.updated_at
       WHERE t.version < EXCLUDED.version`,
      [upserts.map((u) => u.offset)]);
  } else if (upserts.length > 0) {
    const typedValues: unknown[][] = typed.map(() => []);
    for (const u of upserts) {
      for (let i = 0; i < typed.length; i++) typedValues[i]!.push(await typed[i]!.value(u.change.after));
    }
    const typedNames = typed.map((t) => quoteIdent(t.name));
    const typedArgs = typed.map((t, i) => `$${5 + i}::${t.type}[]`);
    const typedAliases = typed.map((_, i) => `c${i}`);
    await run(client, table,
      `INSERT INTO ${table} AS t (key, state, version, updated_at${typedNames.map((n) => `, ${n}`).join('')})
       SELECT u.k, u.s, u.v, to_timestamp(u.ts / 1000.0)${typedAliases.map((a) => `, u.${a}`).join('')}
         FROM unnest($1::text[], $2::jsonb[], $3::bigint[], $4::bigint[]${typedArgs.map((a) => `, ${a}`).join('')}) AS u(k, s, v, ts${typedAliases.map((a) => `, ${a}`).join('')})
       ON CONFLICT (key) DO UPDATE SET state = EXCLUDED.state, version = EXCLUDED.version, updated_at = EXCLUDED.updated_at${typedNames.map((n) => `, ${n} = EXCLUDED.${n}`).join('')}
       WHERE t.version < EXCLUDED.version`,
      [upserts.map((u) => u.key), upserts.map((u) => jsonbText(u.change.after)), upserts.map((u) => u.offset),
        upserts.map((u) => (typeof u.change.ts_ms === 'number' && Number.isFinite(u.change.ts_ms) ? Math.trunc(u.change.ts_ms) : null)), ...typedValues]);
  }
  if (deletes.length > 0) {
    await run(client, table,
      `DELETE FROM ${table} AS t USING unnest($1::text[], $2::bigint[]) AS u(k, v) WHERE t.key = u.k AND t.version < u.v`,
      [deletes.map((d) => d.key), deletes.map((d) => d.offset)]);
  }
}
