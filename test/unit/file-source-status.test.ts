import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fileSource } from '../../connectors/sources/file/tail.js';
import { kongFormat } from '../../connectors/sources/kong/format.js';
import { silentLogger } from '../../src/logger.js';
import type { Source } from '../../src/sources/connector.js';
import { sourceContext } from '../../src/sources/host.js';
import type { DecodedEntry } from '../../src/sources/types.js';
import { kongLog } from '../support/kong-log.js';

const dir = mkdtempSync(join(tmpdir(), 'reflex-file-status-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const startedAt = Date.parse('2026-11-01T10:00:00Z');
const line = (i: number) => JSON.stringify(kongLog({ id: `r${i}`, startedAt: startedAt + i * 1000, method: 'GET', path: '/v1/orders/1', status: 200 })) + '\n';
const settings = (path: string) => ({ path, format: 'kong', follow: true, pollMs: 50, batchLines: 1, maxLineBytes: 1024 * 1024 });

/** A store whose commits wait for the test (`release`), or fail while `failing` is set. */
function gatedStore() {
  const waiting: Array<() => void> = [];
  const store = {
    failing: null as Error | null,
    gated: true,
    committed: 0,
    release: () => waiting.splice(0).forEach((go) => go()),
    pending: () => waiting.length,
  };
  const { context, stopping } = sourceContext({
    name: 'file:test',
    logger: silentLogger,
    format: kongFormat,
    decodeOptions: {},
    http: { post() {} },
    async commit(entries: DecodedEntry[]) {
      if (store.failing) throw store.failing;
      if (store.gated) await new Promise<void>((go) => waiting.push(go));
      store.committed += entries.length;
      return { accepted: entries.length, duplicates: 0, records: 0, deadLetters: 0, unmatched: 0, appended: new Map() };
    },
    getCheckpoint: () => null,
  });
  return { store, context, stopping };
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(check()).toBe(true);
}

describe('file source status', () => {
  it('is catching-up with the bytes left while it reads a backlog, then idle at the end of the file', async () => {
    const path = join(dir, 'backlog.ndjson');
    writeFileSync(path, [0, 1, 2, 3].map(line).join(''));
    const size = statSync(path).size;
    const { store, context, stopping } = gatedStore();
    const src: Source = fileSource.create(settings(path), context);
    await src.start();
    await until(() => store.pending() === 1);
    store.release(); // the first line is committed, the second waits
    await until(() => store.pending() === 1 && store.committed === 1);
    const behind = src.status!();
    expect(behind).toMatchObject({
      state: 'catching-up',
      position: { path, offset: line(0).length, line: 1 },
      positionTime: new Date(startedAt).toISOString(),
      read: { bytes: line(0).length },
      remaining: { bytes: size - line(0).length },
    });
    expect(behind.lagSeconds).toBeGreaterThan(0); // the entry read last is from the past

    store.gated = false;
    store.release();
    await until(() => src.status!().state === 'idle');
    expect(src.status!()).toMatchObject({
      state: 'idle',
      position: { offset: size, line: 4 },
      positionTime: new Date(startedAt + 3000).toISOString(),
      lagSeconds: 0,
      read: { bytes: size },
      remaining: { bytes: 0 },
    });
    expect(src.status!().lastError).toBeUndefined();
    stopping.abort();
    await src.stop();
  });

  it('is degraded with its last error while the store refuses the lines, and idle again once they are stored', async () => {
    const path = join(dir, 'store-down.ndjson');
    writeFileSync(path, line(0));
    const { store, context, stopping } = gatedStore();
    store.gated = false;
    store.failing = Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
    const src = fileSource.create(settings(path), context);
    await src.start();
    await until(() => src.status!().state === 'degraded');
    expect(src.status!().lastError).toMatchObject({ code: 'SQLITE_BUSY', message: 'database is locked', at: expect.any(String) });

    store.failing = null;
    await until(() => src.status!().state === 'idle');
    expect(store.committed).toBe(1);
    // The last error stays for the operator after the source recovered.
    expect(src.status!().lastError?.code).toBe('SQLITE_BUSY');
    stopping.abort();
    await src.stop();
  });

  it('is idle, not degraded, while the file does not exist yet', async () => {
    const { context, stopping } = gatedStore();
    const src = fileSource.create(settings(join(dir, 'not-yet.ndjson')), context);
    await src.start();
    await new Promise((r) => setTimeout(r, 120));
    expect(src.status!()).toMatchObject({ state: 'idle', position: { offset: 0 }, read: { bytes: 0 } });
    stopping.abort();
    await src.stop();
  });
});
