import type pg from 'pg';
import { CODES, permanentFailure } from '../../../src/sdk/index.js';

/** What a failed statement means for the sink. */
export type Failure =
  /** Retrying can heal it: the connection, the server restarting or overloaded, a serialization conflict. */
  | 'transient'
  /** A table was dropped under the sink: prepare the tables again and retry once. */
  | 'missing-table'
  /** Retrying will not heal it until someone acts: privileges, disk, a value or statement the table refuses. */
  | 'permanent';

/**
 * By SQLSTATE (https://www.postgresql.org/docs/15/errcodes-appendix.html). Anything without one is
 * the connection (refused, reset, timed out, ended): transient.
 */
export function classify(err: unknown): Failure {
  const code = sqlState(err);
  if (code === undefined) return 'transient';
  if (code === '42P01' || code === '3F000') return 'missing-table'; // undefined_table, invalid_schema_name
  if (code.startsWith('08')) return 'transient'; // connection exceptions
  if (code === '40001' || code === '40P01') return 'transient'; // serialization failure, deadlock
  if (code === '57P01' || code === '57P02' || code === '57P03') return 'transient'; // admin/crash shutdown, cannot connect now
  if (code === '57014') return 'transient'; // query_canceled: statement_timeout behind a lock held elsewhere
  if (code === '53300' || code === '55P03') return 'transient'; // too many connections, lock not available
  if (code.startsWith('53') || code.startsWith('42') || code.startsWith('22') || code.startsWith('23') || code.startsWith('28')) return 'permanent';
  // Internal errors, I/O errors on the server, and the rest: the server may recover on its own.
  return 'transient';
}

/** Whether the client is unusable after `err` (no server answer, or the server ended the session). */
export function connectionLost(err: unknown): boolean {
  const code = sqlState(err);
  return code === undefined || code.startsWith('08') || code.startsWith('57P');
}

/** The SQLSTATE of an error the server sent (it has a severity), undefined for socket errors (ECONNREFUSED, EPIPE...). */
export function sqlState(err: unknown): string | undefined {
  const e = err as { code?: unknown; severity?: unknown } | null;
  return typeof e?.severity === 'string' && typeof e.code === 'string' ? e.code : undefined;
}

/** The error with the table it concerns in its message, marked permanent for the dispatcher and GET /sinks. */
export function permanent(err: unknown, table: string): Error {
  const e = err instanceof Error ? err : new Error(String(err));
  const state = sqlState(e);
  const out = new Error(`${table}: ${e.message}${state ? ` (SQLSTATE ${state})` : ''}`, { cause: e });
  return permanentFailure(Object.assign(out, { code: CODES.sinkPermanent }));
}

/** Which statement failed, so a permanent error names its table. */
export class StatementError extends Error {
  constructor(readonly table: string, readonly error: unknown) {
    super((error as Error)?.message ?? String(error));
  }
}

/** Runs one statement; a failure says which table it concerned. */
export async function run(client: pg.Client, table: string, text: string, values: unknown[] = []): Promise<pg.QueryResult> {
  try {
    return await client.query(text, values);
  } catch (err) {
    throw new StatementError(table, err);
  }
}
