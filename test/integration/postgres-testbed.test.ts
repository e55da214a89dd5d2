import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findPostgresBin, startPostgres, stopRecordedPostgres, type PostgresTestbed } from '../../testbed/postgres.js';
import { isAlive } from '../../testbed/proc.js';
import { writeServerState } from '../../testbed/state.js';

// A real PostgreSQL (testbed/postgres.ts): Debian's server binaries, a throwaway cluster per start.
// This file starts its own servers (reuse: false) since it halts and stops them.
const owned: PostgresTestbed[] = [];
const own = async () => {
  const server = await startPostgres({ reuse: false });
  owned.push(server);
  return server;
};
afterAll(async () => {
  for (const s of owned) await s.stop();
});

async function query<T extends pg.QueryResultRow = pg.QueryResultRow>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3_000 });
  client.on('error', () => {});
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end().catch(() => {});
  }
}

/** Every process working in `data`: the postmaster and its backends all chdir into the data folder. */
function processesIn(data: string): number[] {
  return readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
    try {
      return readlinkSync(`/proc/${p}/cwd`) === data;
    } catch {
      return false; // gone meanwhile
    }
  }).map(Number);
}

describe('PostgreSQL testbed server', () => {
  let server: PostgresTestbed;
  beforeAll(async () => {
    server = await own();
  });

  it('answers select version() at its loopback URL as the trusted superuser postgres', async () => {
    expect(server.url).toBe(`postgres://postgres@127.0.0.1:${server.port}/postgres`);
    expect(server.port).not.toBe(5432);
    expect(server.reused).toBe(false);
    const [row] = await query<{ version: string; superuser: string }>(server.url, "select version(), current_setting('is_superuser') as superuser");
    expect(row!.version).toMatch(new RegExp(`^PostgreSQL ${server.version.replace('.', '\\.')} `));
    expect(server.version).toMatch(/^1[3-9]\.\d+$/);
    expect(row!.superuser).toBe('on');
    expect(server.runDir).toContain('pg-');
    expect(server.log()).toMatch(/database system is ready to accept connections/);
  });

  it('creates isolated databases: a table in one is not in the other', async () => {
    const [a, b] = [await server.createDatabase(), await server.createDatabase()];
    expect(a).not.toBe(b);
    await query(a, 'create table orders (id int primary key)');
    await query(a, 'insert into orders values (1), (2)');
    expect(await query(a, 'select id from orders order by id')).toEqual([{ id: 1 }, { id: 2 }]);
    await expect(query(b, 'select id from orders')).rejects.toThrow(/relation "orders" does not exist/);
    const named = await server.createDatabase('Shop-Events');
    expect(named).toBe(`postgres://postgres@127.0.0.1:${server.port}/Shop-Events`);
    expect(await query(named, 'select current_database() as db')).toEqual([{ db: 'Shop-Events' }]);
    await expect(server.createDatabase('Shop-Events')).rejects.toThrow(/already exists/);
  });

  it('refuses to restart on a port taken meanwhile, with the server log in the error, then restarts once it is free', async () => {
    const s = await own();
    await s.halt();
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(s.port, '127.0.0.1', resolve));
    try {
      const err = await s.restart().then(() => null, (e: Error) => e);
      expect(err?.message).toMatch(new RegExp(`did not restart on port ${s.port}`));
      expect(err?.message).toMatch(/server log \(last lines\)[\s\S]*could not bind IPv4 address "127\.0\.0\.1": Address already in use/);
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
    await s.restart();
    expect(await query(s.url, 'select 1 as one')).toEqual([{ one: 1 }]);
  });
});

describe('halt and restart', () => {
  it('halt() stops the server like a crash; restart() recovers what was committed and nothing else', async () => {
    const s = await own();
    const db = await s.createDatabase();
    await query(db, 'create table log (n int)');
    await query(db, 'insert into log select generate_series(1, 1000)');
    // A transaction still open at the crash: its row must not survive.
    const open = new pg.Client({ connectionString: db });
    open.on('error', () => {});
    await open.connect();
    await open.query('begin');
    await open.query('insert into log values (-1)');
    const pidBefore = s.pid;

    await s.halt();
    expect(isAlive(pidBefore)).toBe(false);
    await expect(open.query('commit')).rejects.toThrow();
    await expect(query(db, 'select 1')).rejects.toThrow(/ECONNREFUSED/);
    expect(existsSync(join(s.runDir, 'data'))).toBe(true);

    await s.restart();
    expect(s.pid).not.toBe(pidBefore);
    expect(s.url).toBe(`postgres://postgres@127.0.0.1:${s.port}/postgres`);
    expect(await query(db, 'select count(*)::int as n, min(n) as lo, max(n) as hi from log')).toEqual([{ n: 1000, lo: 1, hi: 1000 }]);
    expect(s.log()).toMatch(/database system was interrupted|was not properly shut down/);
    await open.end().catch(() => {});
  });

  it('stop() leaves no process and no run folder behind', async () => {
    const s = await own();
    const data = join(s.runDir, 'data');
    const conn = new pg.Client({ connectionString: s.url });
    conn.on('error', () => {});
    await conn.connect(); // a client still connected must not hold up the stop
    expect(processesIn(data).length).toBeGreaterThan(1); // postmaster and its backends: the check below can fail
    await s.stop();
    expect(isAlive(s.pid)).toBe(false);
    expect(processesIn(data)).toEqual([]);
    expect(existsSync(s.runDir)).toBe(false);
    await conn.end().catch(() => {});
  });

  it('a server started by a process that exits without stop() goes with it', () => {
    // A child process starts a server (not detached) and exits; its exit hook must take the server along.
    const script = `
      import { startPostgres } from ${JSON.stringify(new URL('../../testbed/postgres.ts', import.meta.url).pathname)};
      const s = await startPostgres({ reuse: false });
      console.log(JSON.stringify({ pid: s.pid, runDir: s.runDir }));
      process.exit(0);`;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
    const child = JSON.parse(out.trim().split('\n').pop()!) as { pid: number; runDir: string };
    expect(child.pid).toBeGreaterThan(0);
    expect(isAlive(child.pid)).toBe(false);
    expect(processesIn(join(child.runDir, 'data'))).toEqual([]);
    expect(existsSync(child.runDir)).toBe(false);
  });
});

describe('reuse of the server npm run testbed records', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'reflex-pg-testbed-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is reused (same URL, stop() leaves it running, halt() refused) and stopRecordedPostgres stops it', async () => {
    // What `npm run testbed -- postgres` does, with a state folder of its own.
    const recorded = await startPostgres({ dir, detached: true, reuse: false });
    const { url, pid, version, runDir, port } = recorded;
    writeServerState(dir, 'postgres', { url, pid, version, runDir, port, startedAt: new Date().toISOString() });
    try {
      const reused = await startPostgres({ dir });
      expect(reused).toMatchObject({ reused: true, url, pid, port, version });
      const db = await reused.createDatabase();
      await query(db, 'create table t (x int)');
      await reused.stop();
      expect(isAlive(pid)).toBe(true);
      expect(await query(db, 'select count(*)::int as n from t')).toEqual([{ n: 0 }]);
      await expect(reused.halt()).rejects.toThrow(/reused PostgreSQL .* cannot be halted/);
      await expect(reused.restart()).rejects.toThrow(/cannot be halted or restarted/);
      expect(isAlive(pid)).toBe(true);

      // Asked not to reuse, it starts a server of its own.
      const fresh = await startPostgres({ dir, reuse: false });
      owned.push(fresh);
      expect(fresh.reused).toBe(false);
      expect(fresh.port).not.toBe(port);
    } finally {
      await stopRecordedPostgres({ pid, runDir });
    }
    expect(isAlive(pid)).toBe(false);
    expect(processesIn(join(runDir, 'data'))).toEqual([]);
    expect(existsSync(runDir)).toBe(false);
  });

  it('a recorded server that is gone is not reused', async () => {
    const gone = await startPostgres({ dir, reuse: false });
    owned.push(gone);
    const { url, pid, version, runDir, port } = gone;
    writeServerState(dir, 'postgres', { url, pid, version, runDir, port, startedAt: new Date().toISOString() });
    await gone.halt();
    const next = await startPostgres({ dir });
    owned.push(next);
    expect(next.reused).toBe(false);
    expect(next.url).not.toBe(url);
  });
});

describe('findPostgresBin', () => {
  it('picks the highest major ≥ 13 that has initdb', () => {
    const root = mkdtempSync(join(tmpdir(), 'reflex-pg-root-'));
    try {
      const major = (m: string, initdb: boolean) => {
        mkdirSync(join(root, m, 'bin'), { recursive: true });
        if (initdb) writeFileSync(join(root, m, 'bin', 'initdb'), '');
      };
      expect(findPostgresBin(root)).toBeNull();
      major('12', true);
      expect(findPostgresBin(root)).toBeNull(); // too old
      major('13', true);
      major('9', true);
      major('14', true);
      major('16', false); // client only
      major('common', true);
      expect(findPostgresBin(root)).toBe(join(root, '14', 'bin'));
      expect(findPostgresBin(join(root, 'missing'))).toBeNull();
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
