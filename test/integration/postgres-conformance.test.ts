import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { postgresSink } from '../../connectors/sinks/postgres/sink.js';
import { startPostgres, type PostgresTestbed } from '../../testbed/postgres.js';
import { sinkConformance } from '../support/conformance/sink.js';

// Its own server (not one `npm run testbed` left running): the outage check halts and restarts it.
let server: PostgresTestbed;
let url: string;
let reader: pg.Client;

beforeAll(async () => {
  server = await startPostgres({ reuse: false });
  url = await server.createDatabase();
  reader = new pg.Client({ connectionString: url });
  await reader.connect();
  reader.on('error', () => undefined);
});
afterAll(async () => {
  await reader?.end().catch(() => undefined);
  await server?.stop();
});

/** A fresh reader after the server restarted (the old connection died with it). */
async function query<R extends pg.QueryResultRow>(text: string, values: unknown[]): Promise<pg.QueryResult<R>> {
  try {
    return await reader.query<R>(text, values);
  } catch {
    await reader.end().catch(() => undefined);
    reader = new pg.Client({ connectionString: url });
    reader.on('error', () => undefined);
    await reader.connect();
    return reader.query<R>(text, values);
  }
}

sinkConformance('postgres', {
  connector: postgresSink,
  config: () => ({ url, schema: 'conformance', batchSize: 5 }),
  async received(_settings, streams) {
    // Rows in the order the sink committed them: per stream, by offset (the order the log has them in).
    const res = await query<{ id: string; subject: string | null }>('SELECT id, subject FROM conformance.events WHERE stream = ANY($1::text[]) ORDER BY stream, "offset"', [streams]);
    return res.rows.map((r) => ({ id: r.id, key: r.subject }));
  },
  outage: { begin: () => server.halt(), end: () => server.restart() },
  deliveryMs: 20_000,
  badConfigs: [
    { what: 'no url', block: { schema: 'x' }, message: /url/ },
    { what: 'an empty schema name', block: { url: 'postgres://127.0.0.1:1/x', schema: '' }, pointer: '/schema', message: /schema must NOT have fewer than 1 characters/ },
    { what: 'a schema name PostgreSQL would truncate', block: { url: 'postgres://127.0.0.1:1/x', schema: 's'.repeat(64) }, pointer: '/schema', message: /schema must NOT have more than 63 characters/ },
    { what: 'a typed column of an unknown SQL type', block: { url: 'postgres://127.0.0.1:1/x', columns: { orders: { total: { expr: 'total', type: 'money' } } } }, pointer: '/columns/orders/total', message: /must be one of|must match/ },
    { what: 'a typed column with a JSONata syntax error', block: { url: 'postgres://127.0.0.1:1/x', columns: { orders: { total: 'total +' } } }, message: /column 'total': JSONata error .*\(at \/columns\/orders\/total\)/ },
    { what: 'a typed column named like a fixed one', block: { url: 'postgres://127.0.0.1:1/x', columns: { orders: { version: 'total' } } }, message: /column 'version' is one the resource table always has/ },
    { what: 'columns for a resource the specs do not have', block: { url: 'postgres://127.0.0.1:1/x', columns: { orderz: { total: 'total' } } }, message: /'orderz' is not a CDC resource of the loaded specs \(resources: customers, orders/ },
    { what: 'a resource renamed onto the events table', block: { url: 'postgres://127.0.0.1:1/x', tables: { orders: 'events' } }, message: /resource orders would be written to table "reflex"."events", which holds the events; rename/ },
  ],
});
