import type pg from 'pg';
import type { Layout } from './layout.js';
import { sqlText } from './sql-values.js';

/** The last offset the sink stored per stream, from `reflex_offsets` (absent: nothing stored yet). */
export async function readPositions(client: pg.Client, layout: Layout, sink: string, streams: readonly string[]): Promise<Map<string, number>> {
  const res = await client.query<{ stream: string; offset: string }>(
    `SELECT stream, "offset" FROM ${layout.qualified(layout.offsets)} WHERE sink = $1 AND stream = ANY($2::text[])`,
    [sqlText(sink), streams.map(sqlText)],
  );
  // A stream name with a NUL is stored with U+FFFD: answer under the name the dispatcher asked for.
  const asked = new Map(streams.map((s) => [sqlText(s), s]));
  return new Map(res.rows.map((r) => [asked.get(r.stream) ?? r.stream, Number(r.offset)]));
}
