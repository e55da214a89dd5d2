import Database from 'better-sqlite3';
import { accessSync, constants, existsSync, mkdirSync, statSync, statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import { ReflexError } from '../errors.js';

/**
 * A store failure, naming the database file and, where it can be found, the operating system's
 * reason (EACCES, EROFS, ENOSPC ...). `code` is SQLite's (SQLITE_READONLY ...) or the OS's, else STORE_ERROR.
 */
export class StoreError extends ReflexError {
  constructor(
    message: string,
    readonly file: string,
    code: string | undefined,
  ) {
    super(code ?? 'STORE_ERROR', message);
  }
}

/**
 * Opens the database only if it can really be written: SQLite opens a file it may not write
 * read-only without a word, and every commit would then fail. WAL mode also creates `-wal` and
 * `-shm` beside the file, so the folder must be writable too.
 */
export function openDatabase(path: string, pragmas: string[]): Database.Database {
  if (path !== ':memory:') checkWritable(path);
  let db: Database.Database;
  try {
    db = new Database(path);
  } catch (err) {
    throw storeError(path, err, 'cannot open the store');
  }
  try {
    for (const p of pragmas) db.pragma(p);
    // A write that is rolled back: what access checks cannot see (a read-only mount SQLite found first, a locked file) shows here.
    db.exec('BEGIN IMMEDIATE');
    try {
      db.exec('CREATE TABLE reflex_write_probe(x)');
    } finally {
      db.exec('ROLLBACK');
    }
  } catch (err) {
    db.close();
    throw storeError(path, err, 'cannot write the store');
  }
  return db;
}

function checkWritable(path: string): void {
  const dir = dirname(path);
  const fail = (what: string, err: unknown): never => {
    const e = err as NodeJS.ErrnoException;
    throw new StoreError(`cannot open the store ${path}: ${what} (${e.code ?? 'error'}: ${osMessage(e)})`, path, e.code);
  };
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    fail(`its folder ${dir} cannot be created`, err);
  }
  try {
    accessSync(dir, constants.W_OK);
  } catch (err) {
    fail(`its folder ${dir} is not writable, and SQLite needs to create ${path}-wal and -shm there`, err);
  }
  if (!existsSync(path)) return;
  if (!statSync(path).isFile()) fail('it is not a regular file', Object.assign(new Error('not a regular file'), { code: 'EISDIR' }));
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    if (!existsSync(file)) continue;
    try {
      accessSync(file, constants.R_OK | constants.W_OK);
    } catch (err) {
      fail(`${file} is not writable`, err);
    }
  }
}

/** `EACCES: permission denied, access '/x'` → `permission denied` (the path is named already). */
function osMessage(err: NodeJS.ErrnoException): string {
  return (err.message ?? '').replace(/^[A-Z]+: /, '').replace(/, \w+ '.*'$/, '');
}

/**
 * Wraps a SQLite (or file system) error so that it names the database file; for errors that come
 * from the operating system, asks it again what is wrong (SQLite's own message does not say).
 */
export function storeError(path: string, err: unknown, doing = 'store error'): Error {
  if (err instanceof StoreError || !isStoreLevel(err)) return err as Error;
  const e = err as { code?: string; message?: string };
  const os = osReason(path, e.code ?? '');
  return new StoreError(`${doing} ${path}: ${e.message ?? String(err)} (${e.code ?? 'error'})${os ? `; the operating system says: ${os}` : ''}`, path, e.code);
}

function isStoreLevel(err: unknown): boolean {
  return err instanceof Database.SqliteError || (err instanceof Error && typeof (err as NodeJS.ErrnoException).errno === 'number');
}

const OS_CODES = /^SQLITE_(READONLY|CANTOPEN|IOERR|FULL|PERM|NOTADB|CORRUPT)/;

function osReason(path: string, code: string): string | null {
  if (path === ':memory:' || !OS_CODES.test(code)) return null;
  const problems: string[] = [];
  for (const [file, mode] of [[dirname(path), constants.W_OK], [path, constants.R_OK | constants.W_OK], [`${path}-wal`, constants.W_OK], [`${path}-shm`, constants.W_OK]] as const) {
    if (file !== dirname(path) && !existsSync(file)) continue;
    try {
      accessSync(file, mode);
    } catch (err) {
      problems.push(`${file}: ${(err as NodeJS.ErrnoException).code} ${osMessage(err as NodeJS.ErrnoException)}`);
    }
  }
  try {
    const fs = statfsSync(dirname(path));
    if (fs.bavail === 0) problems.push(`${dirname(path)}: ENOSPC no space left on device`);
  } catch {
    // statfs is only a hint
  }
  return problems.length > 0 ? problems.join('; ') : null;
}

/**
 * Makes every method of `store` report store errors through storeError, so that whatever reaches a
 * log or an HTTP 500 names the file. Errors that are not the store's (a caller's bug) pass unchanged.
 */
export function guardStoreErrors(store: object, path: string): void {
  const proto = Object.getPrototypeOf(store) as Record<string, unknown>;
  for (const name of Object.getOwnPropertyNames(proto)) {
    const method = Object.getOwnPropertyDescriptor(proto, name)?.value as unknown;
    if (name === 'constructor' || typeof method !== 'function') continue;
    Object.defineProperty(store, name, {
      configurable: true,
      writable: true,
      value: function guarded(this: unknown, ...args: unknown[]) {
        try {
          return (method as (...a: unknown[]) => unknown).apply(this, args);
        } catch (err) {
          throw storeError(path, err);
        }
      },
    });
  }
}
