import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fileSource } from '../../connectors/sources/file/tail.js';
import { kongFormat } from '../../connectors/sources/kong/format.js';
import { silentLogger } from '../../src/logger.js';
import type { SourceContext } from '../../src/sources/connector.js';
import type { DecodedEntry } from '../../src/sources/types.js';
import { kongLog } from '../support/kong-log.js';

const dir = mkdtempSync(join(tmpdir(), 'reflex-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const line = (id: string) => JSON.stringify(kongLog({ id, startedAt: 1_700_000_000_000, method: 'GET', path: '/v1/orders/1', status: 200 })) + '\n';

function context(checkpoints: Map<string, string>, got: string[]): SourceContext {
  return {
    name: 'file:test',
    logger: silentLogger,
    formats: new Map([['kong', kongFormat]]),
    http: { post() {} },
    async ingest(entries: DecodedEntry[], checkpoint?: string) {
      got.push(...entries.map((e) => (e.ok ? e.exchange.request.id : 'bad')));
      if (checkpoint) checkpoints.set('file:test', checkpoint);
      return { accepted: entries.length, duplicates: 0, records: 0, deadLetters: 0, unmatched: 0, appended: new Map() };
    },
    getCheckpoint: () => checkpoints.get('file:test') ?? null,
  };
}

describe('file source', () => {
  it('reads complete lines, follows growth, skips malformed lines, and resumes from its checkpoint', async () => {
    const path = join(dir, 'kong.ndjson');
    writeFileSync(path, line('a') + '{broken\n' + line('b') + line('c').slice(0, 50)); // last line incomplete
    const checkpoints = new Map<string, string>();
    const got: string[] = [];
    const src = fileSource.create({ path, format: 'kong', pollMs: 50 }, context(checkpoints, got));
    await src.start();
    const until = async (n: number) => {
      for (let i = 0; i < 100 && got.length < n; i++) await new Promise((r) => setTimeout(r, 20));
    };
    await until(2);
    expect(got).toEqual(['a', 'b']);
    appendFileSync(path, line('c').slice(50) + line('d'));
    await until(4);
    expect(got).toEqual(['a', 'b', 'c', 'd']);
    await src.stop();

    appendFileSync(path, line('e'));
    const again = fileSource.create({ path, format: 'kong', follow: false }, context(checkpoints, got));
    await again.start();
    await until(5);
    await again.stop();
    expect(got).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('starts over when the file shrank (rotated)', async () => {
    const path = join(dir, 'rotating.ndjson');
    writeFileSync(path, line('1') + line('2'));
    const checkpoints = new Map<string, string>();
    const got: string[] = [];
    let src = fileSource.create({ path, format: 'kong', follow: false }, context(checkpoints, got));
    await src.start();
    await src.stop();
    writeFileSync(path, line('3'));
    src = fileSource.create({ path, format: 'kong', follow: false }, context(checkpoints, got));
    await src.start();
    await src.stop();
    expect(got).toEqual(['1', '2', '3']);
  });
});
