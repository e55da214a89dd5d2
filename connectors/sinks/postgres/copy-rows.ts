import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { quoteIdent } from './identifiers.js';

/** One value in COPY's text format: `\N` for NULL, backslash, tab, newline and CR escaped. */
function copyField(v: unknown): string {
  if (v === null || v === undefined) return '\\N';
  const s = String(v);
  return /[\\\t\n\r]/.test(s) ? s.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r')) : s;
}

/** Staging tables each connection has created: a temp table lives as long as its session. */
const staged = new WeakMap<pg.Client, Set<string>>();

/** After a rollback the staging tables created in that transaction are gone: create them again. */
export function forgetStaging(client: pg.Client): void {
  staged.delete(client);
}

/**
 * Streams `columns` (column-oriented arrays of the same length) into `staging`, a temporary table
 * the session keeps (emptied at each commit), by COPY ... FROM STDIN in text format.
 */
export async function copyInto(client: pg.Client, staging: string, like: string, names: readonly string[], columns: readonly (readonly unknown[])[]): Promise<void> {
  let made = staged.get(client);
  if (!made) staged.set(client, (made = new Set()));
  if (!made.has(staging)) {
    // Once per session, not per batch (it cost a round trip and a catalog lookup each time).
    await client.query(`CREATE TEMP TABLE IF NOT EXISTS ${quoteIdent(staging)} (LIKE ${like}) ON COMMIT DELETE ROWS`);
    made.add(staging);
  }
  const rows = columns[0]?.length ?? 0;
  let text = '';
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < columns.length; c++) text += (c ? '\t' : '') + copyField(columns[c]![r]);
    text += '\n';
  }
  await pipeline(Readable.from([Buffer.from(text, 'utf8')]), client.query(copyFrom(`COPY ${quoteIdent(staging)} (${names.map(quoteIdent).join(', ')}) FROM STDIN`)));
}
