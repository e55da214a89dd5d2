import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinRegistry } from '../../connectors/index.js';
import { postgresSink } from '../../connectors/sinks/postgres/sink.js';
import { defaultConfig } from '../../src/config/types.js';
import { silentLogger } from '../../src/logger.js';
import type { ChangeRecord, CloudEvent, StreamRecord } from '../../src/model/records.js';
import { startReflex, type RunningReflex } from '../../src/runtime.js';
import type { Sink } from '../../src/sinks/connector.js';
import { loadSpecSet } from '../../src/spec/compile.js';
import type { CompiledSpecSet } from '../../src/spec/types.js';
import { startPostgres, type PostgresTestbed } from '../../testbed/postgres.js';
import { kongLog } from '../support/kong-log.js';
import { ROOT } from '../support/reflex-process.js';

let server: PostgresTestbed;
let url: string;
let db: pg.Client;
let specs: CompiledSpecSet;
let dir: string;
const running: RunningReflex[] = [];

beforeAll(async () => {
  server = await startPostgres();
  url = await server.createDatabase();
  db = new pg.Client({ connectionString: url });
  await db.connect();
  specs = await loadSpecSet([`${ROOT}examples/shop/openapi.yaml`]);
  dir = mkdtempSync(join(tmpdir(), 'reflex-postgres-sink-'));
});
afterAll(async () => {
  for (const r of running) await r.stop().catch(() => undefined);
  await db?.end();
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

let n = 0;
async function reflexWith(sink: Record<string, unknown>, specSet = specs): Promise<RunningReflex> {
  const config = defaultConfig();
  config.server.port = 0;
  config.store.path = join(dir, `reflex-${++n}.db`);
  config.cdc.reorderWindowMs = 0;
  config.sinks = [{ type: 'postgres', url, ...sink }];
  const r = await startReflex(config, specSet, builtinRegistry(), silentLogger);
  running.push(r);
  return r;
}

async function caughtUp(reflex: RunningReflex): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const sinks = (await (await fetch(`${reflex.url}/sinks`)).json()) as Array<{ lag: Record<string, number>; state?: string; error?: { message: string } }>;
    const lag = sinks[0]!.lag;
    if (Object.keys(lag).length > 0 && Object.values(lag).every((v) => v === 0)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the postgres sink did not catch up');
}

async function consumerApi(reflex: RunningReflex, stream: string): Promise<StreamRecord[]> {
  const out: StreamRecord[] = [];
  for (let after = 0; ;) {
    const page = (await (await fetch(`${reflex.url}/streams/${encodeURIComponent(stream)}/events?after=${after}&limit=1000`)).json()) as StreamRecord[];
    if (page.length === 0) return out;
    out.push(...page.map((r) => ({ ...r, stream })));
    after = page[page.length - 1]!.offset;
  }
}

const HOSTILE_KEY = 'cus_\'";DROP TABLE shop.events;--ü🎉\u0000end';
const t0 = Date.parse('2026-11-10T08:00:00Z');

/** A Kong workload with CDC: customers created, updated, some deleted (one with a hostile key); orders placed, some cancelled. */
function workload(): unknown[] {
  const logs: unknown[] = readFileSync(`${ROOT}examples/shop/kong-session.ndjson`, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  let i = 0;
  const call = (c: Omit<Parameters<typeof kongLog>[0], 'id' | 'startedAt'>) => logs.push(kongLog({ id: `pgw-${i}`, startedAt: t0 + 1000 * i++, ...c }));
  for (let k = 0; k < 40; k++) {
    const id = k === 7 ? HOSTILE_KEY : `cus_w${k}`;
    call({ method: 'POST', path: '/v1/customers', status: 201, requestBody: { email: `w${k}@example.com`, name: `W ${k}` }, responseBody: { id, email: `w${k}@example.com`, name: `W ${k}`, createdAt: new Date(t0 + k).toISOString() } });
  }
  for (let k = 0; k < 40; k += 3) {
    call({ method: 'PATCH', path: `/v1/customers/cus_w${k}`, status: 200, requestBody: { name: `W ${k} renamed` }, requestContentType: 'application/merge-patch+json', responseBody: { id: `cus_w${k}`, email: `w${k}@example.com`, name: `W ${k} renamed`, createdAt: new Date(t0 + k).toISOString() } });
  }
  for (let k = 0; k < 40; k += 5) call({ method: 'DELETE', path: `/v1/customers/cus_w${k}`, status: 204 });
  for (let k = 0; k < 25; k++) {
    const items = [{ sku: `sku-${k}`, quantity: 1 + (k % 3), unitPrice: 9.5 }];
    call({ method: 'POST', path: '/v1/orders', status: 201, requestBody: { customerId: `cus_w${k}`, items }, responseBody: { id: `ord_w${k}`, customerId: `cus_w${k}`, status: 'pending', currency: 'EUR', total: 9.5 * (1 + (k % 3)) + k * 100, items } });
  }
  for (let k = 0; k < 25; k += 4) {
    call({ method: 'PATCH', path: `/v1/orders/ord_w${k}`, status: 200, requestBody: { status: 'cancelled' }, requestContentType: 'application/merge-patch+json', responseBody: { id: `ord_w${k}`, customerId: `cus_w${k}`, status: 'cancelled', currency: 'EUR', total: 0, items: [] } });
  }
  return logs;
}

/** A value as the sink stores it: PostgreSQL text and jsonb cannot hold U+0000, the sink writes U+FFFD instead. */
function asStored<T>(value: T): T {
  if (typeof value === 'string') return value.replaceAll('\0', '\uFFFD') as T;
  if (Array.isArray(value)) return value.map(asStored) as T;
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [asStored(k), asStored(v)])) as T;
  return value;
}

/** A row of `events` as the CloudEvent it came from. */
function eventOf(row: Record<string, unknown>): { offset: number; value: Record<string, unknown> } {
  const value: Record<string, unknown> = {
    specversion: row.specversion, id: row.id, source: row.source, type: row.type, time: (row.time as Date).toISOString(),
    datacontenttype: row.datacontenttype, data: row.data, reflexstream: row.stream, reflexoperation: row.reflexoperation, reflexrequestid: row.reflexrequestid,
    ...(row.subject === null ? {} : { subject: row.subject }), ...(row.extensions as object | null),
  };
  return { offset: Number(row.offset), value };
}

describe('postgres sink, reflex in process against a real PostgreSQL', () => {
  let reflex: RunningReflex;

  beforeAll(async () => {
    reflex = await reflexWith({
      schema: 'shop',
      columns: {
        orders: { status: 'status', total: 'total', customer: 'customerId', items: 'items', lines: '$count(items)', paid: { expr: 'status = "paid"', type: 'boolean' } },
        customers: { createdAt: 'createdAt', email: 'email' },
      },
    });
    const res = await fetch(`${reflex.url}/ingest/kong`, { method: 'POST', body: JSON.stringify(workload()), headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(200);
    await caughtUp(reflex);
  }, 120_000);

  it('stores every event of every event stream once, equal to the consumer API\'s records', async () => {
    const streams = specs.streams.filter((s) => s.kind === 'events').map((s) => s.name);
    let total = 0;
    for (const stream of streams) {
      const api = await consumerApi(reflex, stream);
      const rows = (await db.query('SELECT * FROM shop.events WHERE stream = $1 ORDER BY "offset"', [stream])).rows;
      expect(rows.map(eventOf), stream).toEqual(api.map((r) => ({ offset: r.offset, value: asStored(r.value) })));
      total += api.length;
    }
    expect(total).toBeGreaterThan(100);
    expect(Number((await db.query('SELECT count(*) FROM shop.events')).rows[0].count)).toBe(total);
  });

  it('stores every change record once, equal to the consumer API\'s, and each resource table equals its replayed changelog', async () => {
    for (const resource of ['customers', 'orders']) {
      const stream = `${resource}.changelog`;
      const api = await consumerApi(reflex, stream);
      expect(api.length).toBeGreaterThan(20);
      const rows = (await db.query('SELECT * FROM shop.changes WHERE stream = $1 ORDER BY "offset"', [stream])).rows;
      expect(rows.map((r) => ({ offset: Number(r.offset), key: r.key, value: { op: r.op, key: r.key, before: r.before, after: r.after, changed: r.changed, ts_ms: Number(r.ts_ms), source: r.source } })))
        .toEqual(api.map((r) => asStored({ offset: r.offset, key: r.key, value: r.value })));

      const replayed = new Map<string, { state: unknown; version: number; ts: number }>();
      for (const r of api) {
        const ch = r.value as ChangeRecord;
        const key = r.key!.replace('\0', '\uFFFD');
        if (ch.op === 'd') replayed.delete(key);
        else replayed.set(key, { state: asStored(ch.after), version: r.offset, ts: ch.ts_ms });
      }
      const table = (await db.query(`SELECT key, state, version, updated_at FROM shop.${resource} ORDER BY key`)).rows;
      expect(table.map((t) => [t.key, t.state, Number(t.version), (t.updated_at as Date).getTime()]))
        .toEqual([...replayed].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => [k, v.state, v.version, v.ts]));
      expect(table.length).toBeGreaterThan(10);
    }
  });

  it('gives typed columns their SQL types (from the OpenAPI schema, or as told) and values', async () => {
    const types = (await db.query(`SELECT table_name, column_name, data_type FROM information_schema.columns
      WHERE table_schema = 'shop' AND table_name IN ('orders', 'customers') AND column_name NOT IN ('key', 'state', 'version', 'updated_at') ORDER BY 1, 2`)).rows;
    expect(types.map((t) => [t.table_name, t.column_name, t.data_type])).toEqual([
      ['customers', 'createdAt', 'timestamp with time zone'], ['customers', 'email', 'text'],
      ['orders', 'customer', 'text'], ['orders', 'items', 'jsonb'], ['orders', 'lines', 'jsonb'], ['orders', 'paid', 'boolean'],
      ['orders', 'status', 'text'], ['orders', 'total', 'numeric'],
    ]);
    const o = (await db.query(`SELECT * FROM shop.orders WHERE key IN ('ord_w3', 'ord_w4') ORDER BY key`)).rows;
    expect(o.map((r) => [r.key, r.status, r.total, r.customer, r.items, r.lines, r.paid])).toEqual([
      ['ord_w3', 'pending', '309.5', 'cus_w3', [{ sku: 'sku-3', quantity: 1, unitPrice: 9.5 }], 1, false],
      ['ord_w4', 'cancelled', '0', 'cus_w4', [], 0, false],
    ]);
    const c = (await db.query(`SELECT "createdAt", email FROM shop.customers WHERE key = 'cus_w1'`)).rows[0];
    expect([(c.createdAt as Date).toISOString(), c.email]).toEqual([new Date(t0 + 1).toISOString(), 'w1@example.com']);
  });

  it('stores a hostile key (quotes, a semicolon, unicode) verbatim, a NUL as U+FFFD, and injects nothing', async () => {
    const stored = asStored(HOSTILE_KEY);
    expect(stored).not.toBe(HOSTILE_KEY);
    const row = (await db.query('SELECT key, state FROM shop.customers WHERE key = $1', [stored])).rows;
    expect(row).toHaveLength(1);
    expect(row[0].state.id).toBe(stored);
    expect((await db.query(`SELECT count(*) FROM shop.events WHERE subject = $1`, [stored])).rows[0].count).toBe('1');
  });
});

describe('postgres sink, startup refusals', () => {
  it('stops startup when a table exists with a missing column or another type, naming table, column and the way out', async () => {
    await db.query(`CREATE SCHEMA clash;
      CREATE TABLE clash.changes (stream text, "offset" bigint, key text, op text, before jsonb, after jsonb, changed text[], ts_ms bigint, PRIMARY KEY (stream, "offset"));
      CREATE TABLE clash.orders (key text PRIMARY KEY, state jsonb, version bigint, updated_at timestamptz, total text)`);
    await expect(reflexWith({ schema: 'clash' })).rejects.toThrow(/sink 'postgres': "clash"."changes" \(the sink's changes table\) exists without column "source" \(expected jsonb\); drop or rename that table, or have the sink write another one with `tables: \{changes: <name>\}`/);
    await db.query('ALTER TABLE clash.changes ADD COLUMN source text');
    await expect(reflexWith({ schema: 'clash' })).rejects.toThrow(/"clash"."changes" \(the sink's changes table\): column "source" is text, expected jsonb/);
    await expect(reflexWith({ schema: 'clash', tables: { changes: 'changes2' }, columns: { orders: { total: 'total' } } }))
      .rejects.toThrow(/"clash"."orders" \(the sink's resource orders table\): column "total" is text, expected numeric; .*`tables: \{orders: <name>\}`/);
    // The way out works: the sink writes other tables.
    const r = await reflexWith({ schema: 'clash', tables: { changes: 'changes2', orders: 'orders2' }, columns: { orders: { total: 'total' } } });
    await r.stop();
  });

  it('refuses a resource named like one of its own tables, pointing at tables:', async () => {
    const specFile = join(dir, 'events-resource.yaml');
    writeFileSync(specFile, `openapi: 3.1.0
info: { title: t, version: '1' }
servers: [{ url: https://api.example }]
x-reflex:
  resources:
    events: { key: response.body.id, cdc: true }
paths:
  /events:
    x-reflex-resource: events
    post:
      operationId: createEvent
      responses: { '201': { description: created } }
`);
    const set = await loadSpecSet([specFile]);
    await expect(reflexWith({ schema: 'named' }, set)).rejects.toThrow(/resource events would be written to table "named"."events", which holds the events; rename the sink's events table with `tables: \{events: <name>\}`/);
    const r = await reflexWith({ schema: 'named', tables: { events: 'all_events' } }, set);
    await r.stop();
  });
});

describe('postgres sink, delivered directly', () => {
  const event = (stream: string, offset: number, key: string): StreamRecord => ({
    stream, offset, key,
    value: { specversion: '1.0', id: `${stream}-${offset}`, source: '/t', type: 'com.t.Happened', subject: key, time: new Date(t0 + offset).toISOString(), datacontenttype: 'application/json', data: { offset, text: 'a\u0000b \\u0000 "q"\t\\N\r\n', lone: '\ud800x' }, reflexstream: stream, reflexoperation: 'op', reflexrequestid: `r${offset}` } satisfies CloudEvent,
  });
  const open = async (name = 'direct', method: 'insert' | 'copy' = 'copy'): Promise<Sink> => {
    const settings = { url, schema: 'direct', name, streams: ['*'], maxBacklog: 1000, tables: {}, columns: {}, batchSize: 100, method, connectTimeoutMs: 5000, statementTimeoutMs: 0, applicationName: 'test' };
    const sink = postgresSink.create(settings, { name, logger: silentLogger, service: undefined, streams: [] }) as Sink;
    await sink.open!();
    return sink;
  };
  const rows = async (stream: string) => (await db.query('SELECT "offset", id, subject, data FROM direct.events WHERE stream = $1 ORDER BY "offset"', [stream])).rows;

  it.each(['insert', 'copy'] as const)('stores a hostile stream name verbatim (a NUL as U+FFFD), and JSON with NUL escapes, tabs, newlines and lone surrogates (method %s)', async (method) => {
    const stream = `orders"; DELETE FROM direct.events; --'\t\\N\nü\u0000${method}`;
    const sink = await open(`hostile-${method}`, method);
    await sink.deliver([event(stream, 1, 'k\u0000"')]);
    const got = await rows(stream.replace('\0', '\uFFFD'));
    expect(got.map((r) => [r.subject, r.data])).toEqual([['k\uFFFD"', { offset: 1, text: 'a\uFFFDb \\u0000 "q"\t\\N\r\n', lone: '\uFFFDx' }]]);
    expect((await sink.positions!([stream])).get(stream)).toBe(1);
    await sink.close();
  });

  it.each(['insert', 'copy'] as const)('stores a batch delivered twice once, and after a restart resumes from positions() without gaps or doubles (method %s)', async (method) => {
    const stream = `resume-${method}`;
    const batch = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => event(stream, from + i, `k${(from + i) % 4}`));
    let sink = await open('resumer', method);
    expect((await sink.positions!([stream])).has(stream)).toBe(false);
    await sink.deliver(batch(1, 10));
    await sink.deliver(batch(1, 10)); // the acknowledgement was lost: offered again
    await sink.close();
    sink = await open('resumer', method);
    expect((await sink.positions!([stream])).get(stream)).toBe(10);
    await sink.deliver(batch(6, 20)); // overlaps what is stored
    await sink.close();
    expect((await rows(stream)).map((r) => Number(r.offset))).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });

  it('a batch the database refuses rolls back whole, and the next batch on the same connection goes through (its staging table made again)', async () => {
    // The refused batch is the connection's first: its staging table was created inside the rolled-back transaction.
    await (await open('refuser')).close(); // the tables exist
    await db.query(`ALTER TABLE direct.events ADD CONSTRAINT no_refused CHECK (stream <> 'refused')`);
    try {
      const sink = await open('refuser');
      const err = await sink.deliver([event('refused', 1, 'k')]).then(() => null, (e: unknown) => e as Error & { permanent?: boolean });
      expect(err?.permanent).toBe(true);
      expect(err?.message).toMatch(/no_refused/);
      await sink.deliver([event('accepted', 1, 'k'), event('accepted', 2, 'k')]);
      expect((await rows('accepted')).map((r) => Number(r.offset))).toEqual([1, 2]);
      expect(await rows('refused')).toEqual([]);
      expect((await sink.positions!(['refused', 'accepted']))).toEqual(new Map([['accepted', 2]]));
      await sink.close();
    } finally {
      await db.query('ALTER TABLE direct.events DROP CONSTRAINT no_refused');
    }
  });

  it('creates a table dropped under it again, and reports a permission it lacks as permanent, naming the table', async () => {
    const sink = await open('dropper');
    await sink.deliver([event('dropped', 1, 'k')]);
    await db.query('DROP TABLE direct.events');
    await sink.deliver([event('dropped', 2, 'k')]);
    expect((await rows('dropped')).map((r) => Number(r.offset))).toEqual([2]);

    await db.query(`DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'rx_reader') THEN CREATE ROLE rx_reader LOGIN; END IF; END $$`);
    await db.query('GRANT USAGE ON SCHEMA direct TO rx_reader; GRANT SELECT ON ALL TABLES IN SCHEMA direct TO rx_reader');
    const readerUrl = url.replace('postgres://postgres@', 'postgres://rx_reader@');
    const settings = { url: readerUrl, schema: 'direct', name: 'reader', streams: ['*'], maxBacklog: 1000, tables: {}, columns: {}, batchSize: 100, method: 'copy' as const, connectTimeoutMs: 5000, statementTimeoutMs: 0, applicationName: 'test' };
    const denied = postgresSink.create(settings, { name: 'reader', logger: silentLogger, service: undefined, streams: [] }) as Sink;
    const err = await denied.deliver([event('denied', 1, 'k')]).then(() => null, (e: unknown) => e as Error & { permanent?: boolean });
    await denied.close();
    await sink.close();
    expect(err?.permanent).toBe(true);
    expect(err?.message).toMatch(/^"direct"\."reflex_offsets": permission denied for table reflex_offsets \(SQLSTATE 42501\)$/);
  });
});
