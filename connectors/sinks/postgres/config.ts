import { Default, Type, type Settings } from '../../../src/sdk/index.js';
import { SQL_TYPES } from './column-types.js';

const SQL_TYPE = Type.Unsafe<(typeof SQL_TYPES)[number]>({ enum: [...SQL_TYPES], description: 'SQL type of the column' });

/** A typed column: a JSONata expression over the resource's state, typed from its schema or as told. */
const COLUMN = Type.Union([
  Type.String({ minLength: 1, description: 'JSONata over the state, e.g. `status` or `customer.id`' }),
  Type.Object({
    expr: Type.String({ minLength: 1, description: 'JSONata over the state' }),
    type: Type.Optional(SQL_TYPE),
  }, { additionalProperties: false }),
]);

/** The `postgres` sink's block besides `type`, `name`, `streams` and `maxBacklog`. */
export const POSTGRES_CONFIG = Type.Object({
  url: Type.String({ minLength: 1, description: 'connection URL, e.g. `${DATABASE_URL}` or postgres://user:pass@host:5432/db?sslmode=require' }),
  schema: Default(Type.String({ minLength: 1, maxLength: 63, description: 'schema of the tables (created if missing)' }), 'reflex'),
  tables: Default(Type.Record(Type.String(), Type.String({ minLength: 1, maxLength: 63 }), {
    description: 'table names instead of the defaults: `events`, `changes`, `offsets` (default `reflex_offsets`), or a resource name',
  }), {}),
  columns: Default(Type.Record(Type.String(), Type.Record(Type.String(), COLUMN), {
    description: 'typed columns per resource table: `{orders: {status: "status", total: {expr: "total", type: numeric}}}`',
  }), {}),
  batchSize: Default(Type.Integer({ minimum: 1, maximum: 50_000, description: 'records per transaction' }), 1000),
  // Measured (50k change records over 5k keys, PostgreSQL 15 on loopback, 2 cores): batches of 1000,
  // copy 34-35k changes/s vs insert 29-30k; of 200, 31k vs 24k; of 5000, 26k vs 25k. So auto is copy.
  method: Default(Type.Unsafe<'auto' | 'insert' | 'copy'>({
    enum: ['auto', 'insert', 'copy'],
    description: 'how rows of events and changes are written: `copy` (COPY into a session staging table, then one INSERT ... SELECT), `insert` (one INSERT ... SELECT FROM unnest(arrays)), `auto` (the faster measured: copy)',
  }), 'auto'),
  connectTimeoutMs: Default(Type.Integer({ minimum: 100, description: 'how long to wait for a connection' }), 10_000),
  statementTimeoutMs: Default(Type.Integer({ minimum: 0, description: 'server-side limit per statement (0: none), so a lock held elsewhere fails a batch instead of stalling it' }), 60_000),
  applicationName: Default(Type.String({ description: 'application_name the server shows in pg_stat_activity' }), 'reflex'),
}, { additionalProperties: false });

export type PostgresSettings = Settings<typeof POSTGRES_CONFIG>;
