import type Database from 'better-sqlite3';
import { closeSync, fdatasync, openSync } from 'node:fs';
import { guardStoreErrors, openDatabase, storeError } from './sqlite-open.js';

/** One schema change. Versions run in order, each in its own transaction, once per store file. */
export interface Migration {
  version: number;
  /** What the migration does, for the error that names a failed one. */
  name: string;
  up: string | ((db: Database.Database) => void);
}

export interface StoreDatabaseOptions {
  path: string;
  /** `full` fsyncs every commit (survives power loss); `normal` survives process crashes only. */
  synchronous: 'full' | 'normal';
  migrations: readonly Migration[];
}

/** Told when the outermost write transaction committed or rolled back (parts keep caches in step). */
export interface TransactionHooks {
  /** Last writes of the outermost transaction, inside it (buffered records become their blocks). */
  beforeCommit?(): void;
  committed(): void;
  rolledBack(): void;
}

/**
 * The store's SQLite file: opened only when it can really be written, in WAL mode, brought up to
 * the newest schema version this code knows, and shared by every part of the store. Writes of
 * several parts commit together through `transaction`.
 */
export class StoreDatabase {
  readonly db: Database.Database;
  readonly path: string;
  /** The error of a savepoint that rolled back inside the running transaction. */
  private failedSavepoint: unknown = null;
  private readonly hooks: TransactionHooks[] = [];
  private readonly tx: <R>(fn: () => R) => R;
  private readonly fullSync: boolean;
  /** Inside deferSync: transactions commit without the fsync; durable() provides it. */
  private deferring = false;
  /** Transactions committed inside deferSync so far, and how many of them an fsync has covered. */
  private deferredCommits = 0;
  private syncedUpTo = 0;
  private walFd: number | null = null;
  /** The fsync in flight (covering `upTo` deferred commits), and the one queued to follow it. */
  private syncing: { done: Promise<void>; upTo: number } | null = null;
  private nextSync: Promise<void> | null = null;

  constructor(options: StoreDatabaseOptions) {
    this.path = options.path;
    // An in-memory database has no disk to wait for.
    this.fullSync = options.synchronous === 'full' && options.path !== ':memory:';
    guardStoreErrors(this, options.path);
    this.db = openDatabase(options.path, [
      'journal_mode = WAL',
      `synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`,
      'busy_timeout = 5000',
      // 16 MiB of page cache: with records in blocks the indexes are small, and 64 MiB cost ~50 MiB of
      // peak RSS with 1M live CDC keys for no measurable speed (bench d).
      'cache_size = -16384',
    ]);
    try {
      migrate(this.db, options.path, options.migrations);
    } catch (err) {
      this.db.close();
      throw err;
    }
    const run = this.db.transaction((fn: () => unknown) => fn());
    this.tx = run as <R>(fn: () => R) => R;
  }

  /** The version the store file is at (0: empty file). */
  schemaVersion(): number {
    return schemaVersionOf(this.db);
  }

  addHooks(hooks: TransactionHooks): void {
    this.hooks.push(hooks);
  }

  /**
   * Runs `fn` in one transaction; inside another one it becomes a savepoint of it, and the hooks
   * run only when the outermost one ends.
   */
  transaction<R>(fn: () => R): R {
    if (this.db.inTransaction) {
      try {
        return this.tx(fn);
      } catch (err) {
        this.failedSavepoint ??= err;
        throw err;
      }
    }
    let result: R;
    try {
      result = this.tx(() => {
        const r = fn();
        // Parts keep what a transaction wrote in memory until it ends (records not yet in a block, CDC states),
        // for the whole transaction, not per savepoint: a savepoint that failed fails its transaction.
        if (this.failedSavepoint !== null) throw new Error(`${this.path}: a part of this transaction failed and was rolled back, so the whole transaction is: ${describe(this.failedSavepoint)}`);
        for (const h of this.hooks) h.beforeCommit?.();
        return r;
      });
    } catch (err) {
      for (const h of this.hooks) h.rolledBack();
      throw err;
    } finally {
      this.failedSavepoint = null;
    }
    if (this.deferring) this.deferredCommits++;
    // A commit with synchronous=FULL synced the whole WAL file, every deferred commit before it too.
    else this.syncedUpTo = this.deferredCommits;
    for (const h of this.hooks) h.committed();
    return result;
  }

  /**
   * Runs `fn` with its transactions committed without waiting for the disk (SQLite's
   * synchronous=NORMAL: in WAL mode a crash of the process loses nothing, a power loss may lose
   * them); `durable()` then makes them survive power loss too. With `store.sync: full` whoever
   * acknowledges what `fn` wrote must await durable() first. The fsync then runs on a thread of
   * libuv's pool: the main thread goes on, and commits made meanwhile share the next fsync.
   */
  deferSync<R>(fn: () => R): R {
    if (!this.fullSync || this.deferring || this.db.inTransaction) return fn();
    this.db.pragma('synchronous = NORMAL');
    this.deferring = true;
    try {
      return fn();
    } finally {
      this.deferring = false;
      this.db.pragma('synchronous = FULL');
    }
  }

  /** Resolves once every transaction committed before the call is on disk (at once with `store.sync: normal`). */
  durable(): Promise<void> {
    const target = this.deferredCommits;
    if (this.syncedUpTo >= target) return Promise.resolve();
    if (!this.syncing) return this.startSync();
    if (this.syncing.upTo >= target) return this.syncing.done;
    // The fsync in flight started before this commit: the next one covers it (and every commit until it starts).
    return (this.nextSync ??= this.syncing.done.catch(() => undefined).then(() => {
      this.nextSync = null;
      return this.syncedUpTo >= this.deferredCommits ? undefined : this.startSync();
    }));
  }

  private startSync(): Promise<void> {
    const upTo = this.deferredCommits;
    const done = new Promise<void>((resolve, reject) => {
      let fd: number;
      try {
        fd = this.walFd ??= openSync(`${this.path}-wal`, 'r+');
      } catch (err) {
        reject(storeError(this.path, err, 'cannot sync the store'));
        return;
      }
      fdatasync(fd, (err) => (err ? reject(storeError(this.path, err, 'cannot sync the store')) : resolve()));
    }).then(() => {
      this.syncedUpTo = Math.max(this.syncedUpTo, upTo);
    }).finally(() => {
      if (this.syncing?.done === done) this.syncing = null;
    });
    this.syncing = { done, upTo };
    return done;
  }

  close(): void {
    if (this.db.open) this.db.close();
    if (this.walFd !== null) closeSync(this.walFd);
    this.walFd = null;
  }
}

function schemaVersionOf(db: Database.Database, key = SCHEMA_VERSION_KEY): number {
  const hasMeta = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").get() !== undefined;
  if (!hasMeta) return 0;
  const row = db.prepare('SELECT value FROM meta WHERE key = ?').pluck().get(key) as string | undefined;
  return row === undefined ? 0 : Number(row);
}

const SCHEMA_VERSION_KEY = 'schema_version';

/**
 * Tables a part of reflex owns in the store's file (a connector's outbox), with their own ordered
 * migrations, versioned apart from the store's under `schema_version:<part>` in `meta`.
 */
export function migrateOwnTables(db: Database.Database, part: string, migrations: readonly Migration[]): void {
  db.exec('CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
  migrate(db, db.name, migrations, `${SCHEMA_VERSION_KEY}:${part}`);
}

/** Applies the migrations newer than the file's version; refuses a file written by a newer reflex. */
function migrate(db: Database.Database, path: string, migrations: readonly Migration[], key = SCHEMA_VERSION_KEY): void {
  const newest = migrations.at(-1)?.version ?? 0;
  const current = schemaVersionOf(db, key);
  if (current > newest) {
    throw new Error(`${path}: store schema version ${current} is newer than this reflex understands (${newest}); upgrade reflex`);
  }
  for (const m of migrations) {
    if (m.version <= current) continue;
    try {
      db.transaction(() => {
        if (typeof m.up === 'string') db.exec(m.up);
        else m.up(db);
        db.prepare('INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, String(m.version));
      })();
    } catch (err) {
      throw storeError(path, err, `cannot upgrade the store to schema version ${m.version} (${m.name})`);
    }
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
