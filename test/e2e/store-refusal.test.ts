import { spawn } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import { CLI, ROOT } from '../support/reflex-process.js';

/**
 * Root may write any file whatever its mode, so a read-only file means nothing to it. As root, the
 * CLI runs as `nobody` (uid 65534) here, so that the operating system really refuses the write.
 */
const asRoot = process.getuid?.() === 0;
const NOBODY = 65534;

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'reflex-ro-'));
  dirs.push(dir);
  new SqliteStore({ path: join(dir, 'reflex.db'), retentionMs: 0, dedupeWindowMs: 1000, synchronous: 'normal' }).close();
  if (asRoot) chownSync(dir, NOBODY, NOBODY);
  return dir;
}

function serve(dir: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, 'serve', '--spec', 'examples/shop/openapi.yaml', '--port', '0', '--data', dir], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(asRoot ? { uid: NOBODY, gid: NOBODY } : {}),
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGTERM'), 15_000); // it must not be listening
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

describe('reflex serve refuses a store it cannot write', () => {
  it('a read-only reflex.db in a writable folder: exit 1, naming the file and EACCES, never listening', async () => {
    const dir = dataDir();
    chmodSync(join(dir, 'reflex.db'), 0o444);
    const { code, stderr } = await serve(dir);
    expect(code).toBe(1);
    expect(stderr).toContain(`reflex: cannot open the store ${join(dir, 'reflex.db')}: ${join(dir, 'reflex.db')} is not writable (EACCES: permission denied)`);
    expect(stderr).not.toContain('reflex is listening');
  });

  it('a writable reflex.db in a read-only folder (WAL needs -wal and -shm beside it)', async () => {
    const dir = dataDir();
    chmodSync(dir, 0o555);
    const { code, stderr } = await serve(dir);
    expect(code).toBe(1);
    expect(stderr).toContain(`reflex: cannot open the store ${join(dir, 'reflex.db')}: its folder ${dir} is not writable, and SQLite needs to create ${join(dir, 'reflex.db')}-wal and -shm there (EACCES: permission denied)`);
    expect(stderr).not.toContain('reflex is listening');
  });
});
