import type Database from 'better-sqlite3';
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
  private readonly hooks: TransactionHooks[] = [];
  private readonly tx: <R>(fn: () => R) => R;

  constructor(options: StoreDatabaseOptions) {
    this.path = options.path;
    guardStoreErrors(this, options.path);
    this.db = openDatabase(options.path, [
      'journal_mode = WAL',
      `synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`,
      'busy_timeout = 5000',
      // 64 MiB of page cache: indexes of large streams stay in memory instead of being re-read per batch.
      'cache_size = -65536',
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
    if (this.db.inTransaction) return this.tx(fn);
    let result: R;
    try {
      result = this.tx(fn);
    } catch (err) {
      for (const h of this.hooks) h.rolledBack();
      throw err;
    }
    for (const h of this.hooks) h.committed();
    return result;
  }

  close(): void {
    if (this.db.open) this.db.close();
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
