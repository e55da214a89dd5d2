import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fileSource } from '../../connectors/sources/file/tail.js';
import { kongFormat } from '../../connectors/sources/kong/format.js';
import { silentLogger } from '../../src/logger.js';
import type { SourceContext } from '../../src/sources/connector.js';
import { sourceContext, type SourceHost } from '../../src/sources/host.js';
import { BackpressureError, type DecodedEntry, type LogFormat } from '../../src/sources/types.js';
import { kongLog } from '../support/kong-log.js';

const dir = mkdtempSync(join(tmpdir(), 'reflex-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const line = (id: string) => JSON.stringify(kongLog({ id, startedAt: 1_700_000_000_000, method: 'GET', path: '/v1/orders/1', status: 200 })) + '\n';

const settings = (s: { path: string; follow?: boolean; pollMs?: number; maxLineBytes?: number; batchLines?: number }) =>
  ({ follow: true, pollMs: 1000, batchLines: 500, maxLineBytes: 10 * 1024 * 1024, ...s });

function context(checkpoints: Map<string, string>, got: string[]): SourceContext {
  return sourceContext({
    name: 'file:test',
    logger: silentLogger,
    format: kongFormat,
    decodeOptions: {},
    http: { post() {} },
    async commit(entries: DecodedEntry[], checkpoint?: string) {
      got.push(...entries.map((e) => (e.ok ? e.exchange.request.id : 'bad')));
      if (checkpoint) checkpoints.set('file:test', checkpoint);
      return { accepted: entries.length, duplicates: 0, records: 0, deadLetters: 0, unmatched: 0, appended: new Map() };
    },
    getCheckpoint: () => checkpoints.get('file:test') ?? null,
  }).context;
}

describe('file source', () => {
  it('reads complete lines, follows growth, turns malformed lines into dead letters, and resumes from its checkpoint', async () => {
    const path = join(dir, 'kong.ndjson');
    writeFileSync(path, line('a') + '{broken\n' + line('b') + line('c').slice(0, 50)); // last line incomplete
    const checkpoints = new Map<string, string>();
    const got: string[] = [];
    const src = fileSource.create(settings({ path, format: 'kong', pollMs: 50 }), context(checkpoints, got));
    await src.start();
    const until = async (n: number) => {
      for (let i = 0; i < 100 && got.length < n; i++) await new Promise((r) => setTimeout(r, 20));
    };
    await until(3);
    expect(got).toEqual(['a', 'bad', 'b']);
    appendFileSync(path, line('c').slice(50) + line('d'));
    await until(5);
    expect(got).toEqual(['a', 'bad', 'b', 'c', 'd']);
    await src.stop();

    appendFileSync(path, line('e'));
    const again = fileSource.create(settings({ path, format: 'kong', follow: false }), context(checkpoints, got));
    await again.start();
    await until(6);
    await again.stop();
    expect(got).toEqual(['a', 'bad', 'b', 'c', 'd', 'e']);
  });

  it('starts over when the file shrank (rotated)', async () => {
    const path = join(dir, 'rotating.ndjson');
    writeFileSync(path, line('1') + line('2'));
    const checkpoints = new Map<string, string>();
    const got: string[] = [];
    let src = fileSource.create(settings({ path, format: 'kong', follow: false }), context(checkpoints, got));
    await src.start();
    await src.stop();
    writeFileSync(path, line('3'));
    src = fileSource.create(settings({ path, format: 'kong', follow: false }), context(checkpoints, got));
    await src.start();
    await src.stop();
    expect(got).toEqual(['1', '2', '3']);
  });
});

/** A context that keeps what a store would: entries, dead letters and the checkpoint, committed together. */
function recordingContext(checkpoint: { value: string | null }, format: LogFormat = kongFormat) {
  const ids: string[] = [];
  const dead: Array<{ code: string; message: string; file?: string; line?: number; column?: number; pointer?: string }> = [];
  const batches: DecodedEntry[][] = [];
  let failWhen: (entries: DecodedEntry[]) => boolean | Error = () => false;
  const host: SourceHost = {
    name: 'file:test',
    logger: silentLogger,
    format,
    decodeOptions: {},
    http: { post() {} },
    async commit(entries: DecodedEntry[], cp?: string) {
      // Like the store: a failing batch commits nothing, neither entries nor checkpoint.
      const fail = failWhen(entries);
      if (fail) throw fail instanceof Error ? fail : new Error('SQLITE_TOOBIG: string or blob too big');
      batches.push(entries);
      for (const e of entries) {
        if (e.ok) ids.push(e.exchange.request.id);
        else dead.push(e.diagnostic);
      }
      if (cp !== undefined) checkpoint.value = cp;
      return { accepted: entries.length, duplicates: 0, records: 0, deadLetters: 0, unmatched: 0, appended: new Map() };
    },
    getCheckpoint: () => checkpoint.value,
  };
  // A stopped source's context stays aborted: a restart gets a new one over the same recording.
  let made = sourceContext(host);
  return {
    get ctx() { return made.context; },
    get stopping() { return made.stopping; },
    restart: () => (made = sourceContext(host)),
    ids, dead, batches, failOn: (f: (entries: DecodedEntry[]) => boolean | Error) => (failWhen = f) };
}

describe('file source: one bad line costs only itself', () => {
  it('stores a line it cannot decode as a dead letter with file, line and column, and reads on', async () => {
    const path = join(dir, 'bad-lines.ndjson');
    // Line 3: a decoder that throws something else than a PayloadError (a bug, or a value it did not expect).
    const throwing: LogFormat = {
      name: 'kong',
      summary: 'kong, but throws on one entry',
      decode: (payload) => {
        if (payload.includes('"explode"')) throw new RangeError('Invalid time value');
        return kongFormat.decode(payload);
      },
    };
    const badEntry = JSON.stringify({ ...kongLog({ id: 'x', startedAt: 1_700_000_000_000, method: 'GET', path: '/v1/orders/1', status: 200 }), response: { status: 'teapot' } });
    writeFileSync(path, line('a') + '{"request": nope}\n' + JSON.stringify({ explode: 1 }) + '\n\n' + badEntry + '\n' + line('b'));
    const cp = { value: null as string | null };
    const r = recordingContext(cp, throwing);
    const src = fileSource.create(settings({ path, format: 'kong', follow: false }), r.ctx);
    await src.start();
    await src.stop();
    expect(r.ids).toEqual(['a', 'b']);
    expect(r.dead.map((d) => [d.code, d.file, d.line])).toEqual([
      ['RX300', path, 2],
      ['RX300', path, 3],
      ['RX303', path, 5],
    ]);
    expect(r.dead[0]!.column).toBe(13);
    expect(r.dead[0]!.message).toMatch(/^malformed kong log line: /);
    expect(r.dead[1]!.message).toContain('Invalid time value');
    expect(r.dead[2]!.pointer).toBe('/response/status');
  });

  it('stores a line the store refuses as a dead letter, one line per transaction, and reads on', async () => {
    const path = join(dir, 'unstorable.ndjson');
    writeFileSync(path, line('a') + line('poison') + line('b'));
    const cp = { value: null as string | null };
    const r = recordingContext(cp);
    r.failOn((entries) => entries.some((e) => e.ok && e.exchange.request.id === 'poison'));
    const src = fileSource.create(settings({ path, format: 'kong', follow: false }), r.ctx);
    await src.start();
    await src.stop();
    expect(r.ids).toEqual(['a', 'b']);
    expect(r.dead).toMatchObject([{ code: 'RX400', file: path, line: 2, message: expect.stringContaining('SQLITE_TOOBIG') }]);
  });

  it('does not skip anything when the store refuses every write, and goes on from the same line later', async () => {
    const path = join(dir, 'store-down.ndjson');
    writeFileSync(path, line('a') + line('b'));
    const cp = { value: null as string | null };
    const r = recordingContext(cp);
    r.failOn(() => true);
    const src = fileSource.create(settings({ path, format: 'kong', follow: false }), r.ctx);
    await src.start();
    await src.stop();
    expect(r.ids).toEqual([]);
    expect(r.dead).toEqual([]);
    expect(cp.value).toBeNull();
    r.failOn(() => false);
    const again = fileSource.create(settings({ path, format: 'kong', follow: false }), r.ctx);
    await again.start();
    await again.stop();
    expect(r.ids).toEqual(['a', 'b']);
  });
});

describe('file source: bounded reading', () => {
  const lineBytes = Buffer.byteLength(line('00'));

  it('reads a backlog in chunks no larger than maxLineBytes, skips an over-long line as a dead letter, and resumes exactly once', async () => {
    const path = join(dir, 'backlog.ndjson');
    const ids = Array.from({ length: 40 }, (_, i) => String(i).padStart(2, '0'));
    const long = JSON.stringify({ pad: 'x'.repeat(lineBytes * 3) }) + '\n';
    const lines = ids.map(line);
    lines.splice(20, 0, '{not json\n'); // line 21
    lines.splice(31, 0, long); // line 32
    writeFileSync(path, lines.join(''));
    const maxLineBytes = lineBytes * 2; // two or three lines per read
    const cp = { value: null as string | null };
    const r = recordingContext(cp);
    // Reading stops in the middle of the backlog (a stop while a sink is behind): the refused batch is not committed.
    let calls = 0;
    r.failOn(() => {
      if (++calls !== 9) return false;
      r.stopping.abort();
      return new BackpressureError('sink behind', 1);
    });
    const first = fileSource.create(settings({ path, format: 'kong', follow: false, maxLineBytes, batchLines: 500 }), r.ctx);
    await first.start();
    await first.stop();
    const readBefore = r.ids.length;
    expect(readBefore).toBeGreaterThan(0);
    expect(readBefore).toBeLessThan(ids.length);
    r.failOn(() => false);
    r.restart();
    const second = fileSource.create(settings({ path, format: 'kong', follow: false, maxLineBytes, batchLines: 500 }), r.ctx);
    await second.start();
    await second.stop();

    expect(r.ids).toEqual(ids); // every line once: nothing skipped, nothing repeated
    expect(r.dead.map((d) => [d.code, d.line])).toEqual([['RX300', 21], ['RX304', 32]]);
    expect(r.dead[1]!.message).toMatch(/longer than maxLineBytes/);
    // Every batch came from one read of at most maxLineBytes + 1 bytes: no batch holds more lines than fit.
    expect(r.batches.length).toBeGreaterThan(10);
    for (const b of r.batches) expect(b.length).toBeLessThanOrEqual(Math.floor((maxLineBytes + 1) / lineBytes));
    expect(cp.value).toBe(`${Buffer.byteLength(lines.join(''))}:${lines.length}`);
  });

  it('waits for the end of a long line that is still being written, then skips it', async () => {
    const path = join(dir, 'growing-long.ndjson');
    writeFileSync(path, line('a') + 'y'.repeat(lineBytes * 3));
    const cp = { value: null as string | null };
    const r = recordingContext(cp);
    const make = () => fileSource.create(settings({ path, format: 'kong', follow: false, maxLineBytes: lineBytes + 10 }), r.ctx);
    let src = make();
    await src.start();
    await src.stop();
    expect(r.ids).toEqual(['a']);
    expect(r.dead).toEqual([]);
    appendFileSync(path, 'y\n' + line('b'));
    src = make();
    await src.start();
    await src.stop();
    expect(r.ids).toEqual(['a', 'b']);
    expect(r.dead).toMatchObject([{ code: 'RX304', line: 2 }]);
  });

  it('resumes from a checkpoint written by an older reflex (a byte offset alone) with the right line numbers', async () => {
    const path = join(dir, 'legacy.ndjson');
    writeFileSync(path, line('a') + line('b') + '{bad\n');
    const cp = { value: String(Buffer.byteLength(line('a') + line('b'))) as string | null };
    const r = recordingContext(cp);
    const src = fileSource.create(settings({ path, format: 'kong', follow: false }), r.ctx);
    await src.start();
    await src.stop();
    expect(r.ids).toEqual([]);
    expect(r.dead).toMatchObject([{ line: 3 }]);
    expect(cp.value).toBe(`${Buffer.byteLength(line('a') + line('b') + '{bad\n')}:3`);
  });
});
