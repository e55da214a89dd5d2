import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generateKongLogs } from '../../bench/generate.js';
import { startPostgres, type PostgresTestbed } from '../../testbed/postgres.js';
import { databaseCaughtUp, databaseOffsets, expectDatabaseEqualsLog, streamsOf } from '../support/postgres-log.js';
import { ROOT, startReflexProcess, type ReflexProcess } from '../support/reflex-process.js';

// What a crash anywhere does to the PostgreSQL sink: reflex killed with SIGKILL mid-batch, the
// server stopped like a crash (pg_ctl -m immediate) and started again, the sink's connection
// terminated mid-transaction. Each time every record ends up in the database exactly once and
// each resource table equals its replayed changelog. A real server of its own (it is halted here).
const SHOP = `${ROOT}examples/shop/openapi.yaml`;
const SCHEMA = 'shop';
let server: PostgresTestbed;
const running: ReflexProcess[] = [];
const dirs: string[] = [];
const clients: pg.Client[] = [];

beforeAll(async () => {
  server = await startPostgres({ reuse: false });
}, 300_000);
afterEach(async () => {
  for (const r of running.splice(0)) await r.kill9();
  for (const c of clients.splice(0)) await c.end().catch(() => undefined);
});
afterAll(async () => {
  await server?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function database(): Promise<{ url: string; db: pg.Client }> {
  const url = await server.createDatabase();
  const db = new pg.Client({ connectionString: url });
  db.on('error', () => undefined); // the server is halted on purpose below
  await db.connect();
  clients.push(db);
  return { url, db };
}

/** reflex serving the shop spec with a postgres sink; the same `dir` keeps its store across restarts. */
async function reflex(url: string, dir?: string): Promise<{ proc: ReflexProcess; dir: string }> {
  const d = dir ?? mkdtempSync(join(tmpdir(), 'reflex-pg-crash-'));
  if (!dir) dirs.push(d);
  writeFileSync(join(d, 'reflex.yaml'), [
    'cdc: { reorderWindow: "0" }',
    'sinks:',
    `  - { type: postgres, url: "${url}", schema: ${SCHEMA}, batchSize: 100 }`,
    '',
  ].join('\n'));
  const proc = await startReflexProcess(['--spec', SHOP, '--data', d, '--config', join(d, 'reflex.yaml')]);
  running.push(proc);
  return { proc, dir: d };
}

/** The shop workload (creates, updates, deletes of customers and orders, payments), in batches of 100 Kong entries. */
function workload(count: number, seed: number): string[] {
  const { texts } = generateKongLogs({ count, seed });
  const batches: string[] = [];
  for (let i = 0; i < texts.length; i += 100) batches.push(`[${texts.slice(i, i + 100).join(',')}]`);
  return batches;
}

const post = (url: string, body: string) =>
  fetch(`${url}/ingest/kong`, { method: 'POST', body, headers: { 'content-type': 'application/json' } }).then((r) => r.status, () => 0);

const delivered = async (db: pg.Client) => [...(await databaseOffsets(db, SCHEMA).catch(() => new Map<string, number>())).values()].reduce((a, b) => a + b, 0);

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('PostgreSQL sink: exactly once through crashes', () => {
  it('reflex killed with SIGKILL while the sink is writing: after a restart every record is in the database once', async () => {
    const { url, db } = await database();
    const batches = workload(6_000, 11);
    let { proc, dir } = await reflex(url);
    for (const b of batches) expect(await post(proc.url, b)).toBe(200);
    const total = (await streamsOf(proc.url)).reduce((n, s) => n + s.lastOffset, 0);
    // Kill once the sink has written some batches but not all of them.
    await until('the sink to write its first batches', async () => (await delivered(db)) > 0);
    await proc.kill9();
    const atKill = await delivered(db);
    expect(atKill, 'the kill came while the sink was still writing').toBeLessThan(total);

    proc = (await reflex(url, dir)).proc;
    await databaseCaughtUp(proc.url, db, SCHEMA);
    const counts = await expectDatabaseEqualsLog(proc.url, db, SCHEMA);
    expect(counts.events + counts.changes).toBe(total);
    expect(counts.resources).toBeGreaterThan(100);
  }, 180_000);

  it('PostgreSQL stopped like a crash and started again under load: ingest goes on, /sinks shows the failure, nothing lost or doubled', async () => {
    const { url, db } = await database();
    const batches = workload(8_000, 12);
    const { proc } = await reflex(url);
    const half = batches.length / 2;
    for (const b of batches.slice(0, half)) expect(await post(proc.url, b)).toBe(200);
    await until('the sink to write its first batches', async () => (await delivered(db)) > 0);
    await server.halt();
    // reflex keeps taking logs while its database is away (below maxBacklog).
    for (const b of batches.slice(half)) expect(await post(proc.url, b)).toBe(200);
    await until('GET /sinks to show the failure', async () => {
      const sinks = (await (await fetch(`${proc.url}/sinks`)).json()) as Array<{ state: string; error?: { message: string } }>;
      return sinks[0]?.state === 'failing' && typeof sinks[0].error?.message === 'string';
    });
    await server.restart();
    const again = new pg.Client({ connectionString: url });
    await again.connect();
    clients.push(again);
    await databaseCaughtUp(proc.url, again, SCHEMA, 120_000);
    const counts = await expectDatabaseEqualsLog(proc.url, again, SCHEMA);
    expect(counts.events + counts.changes).toBe((await streamsOf(proc.url)).reduce((n, s) => n + s.lastOffset, 0));
    const sinks = (await (await fetch(`${proc.url}/sinks`)).json()) as Array<{ state: string }>;
    expect(sinks[0]?.state).toBe('ok');
  }, 240_000);

  it('the sink\'s connection terminated mid-transaction, again and again: every record once', async () => {
    const { url, db } = await database();
    const { proc } = await reflex(url);
    const dbName = new URL(url).pathname.slice(1);
    let terminated = 0;
    // Only backends inside a statement or transaction: the sink between batches is idle.
    const cutter = setInterval(() => {
      void db
        .query("SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() AND state <> 'idle'", [dbName])
        .then((r) => (terminated += Number(r.rows[0].n)), () => undefined);
    }, 100);
    try {
      // Load until the sink has lost a few connections mid-transaction.
      for (let seed = 13; terminated < 3 && seed < 40; seed++) {
        for (const b of workload(2_000, seed)) expect(await post(proc.url, b)).toBe(200);
      }
    } finally {
      clearInterval(cutter);
    }
    expect(terminated).toBeGreaterThanOrEqual(3);
    await databaseCaughtUp(proc.url, db, SCHEMA, 120_000);
    await expectDatabaseEqualsLog(proc.url, db, SCHEMA);
  }, 240_000);
});
