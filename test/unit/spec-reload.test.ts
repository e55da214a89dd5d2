import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { SpecReloader } from '../../src/pipeline/spec-reload.js';
import { loadSpecSet } from '../../src/spec/compile.js';
import type { CompiledSpecSet } from '../../src/spec/types.js';

const SHOP = new URL('../fixtures/specs/minimal.yaml', import.meta.url).pathname;
const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

async function setup(apply: (next: CompiledSpecSet) => Promise<void>) {
  const dir = mkdtempSync(join(tmpdir(), 'reflex-reload-unit-'));
  dirs.push(dir);
  const file = join(dir, 'minimal.yaml');
  copyFileSync(SHOP, file);
  let active = await loadSpecSet([file]);
  const logs: string[] = [];
  const logger = createLogger({ level: 'info', json: false, write: (line: string) => logs.push(line) });
  const reloader = new SpecReloader({
    files: [file], refs: undefined, current: () => active, unavailable: null, logger,
    apply: async (next) => {
      await apply(next);
      active = next;
    },
  });
  return { file, reloader, active: () => active, logs };
}

describe('SpecReloader', () => {
  it('keeps the old set when a part cannot take the new one, and says so', async () => {
    const { reloader, active, logs } = await setup(async () => {
      throw new Error('the ingest workers could not load the files');
    });
    const before = active();
    const result = await reloader.reload('test');
    expect(result).toMatchObject({ ok: false, reason: 'failed', message: expect.stringMatching(/ingest workers could not load the files.*old ones stay active/) });
    expect(active()).toBe(before);
    expect(logs.join('\n')).toMatch(/could not be put to work/);
  });

  it('refuses a file that cannot be read, with the file named', async () => {
    const { file, reloader, active } = await setup(async () => undefined);
    const before = active();
    rmSync(file);
    const result = await reloader.reload('test');
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.diagnostics.some((d) => d.severity === 'error' && (d.file === file || d.message.includes(file)))).toBe(true);
    expect(active()).toBe(before);
  });

  it('runs reloads one at a time, each reading the files when its turn comes', async () => {
    let running = 0;
    let overlapped = false;
    let applying!: () => void;
    const started = new Promise<void>((r) => (applying = r));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { file, reloader } = await setup(async () => {
      overlapped ||= ++running > 1;
      applying();
      await gate;
      running--;
    });
    const first = reloader.reload('first');
    await started;
    // The first is putting its set to work: a second one asked for now waits, then reads the files as they are then.
    const second = reloader.reload('second');
    writeFileSync(file, 'openapi: [');
    release();
    expect((await first).ok).toBe(true);
    expect(await second).toMatchObject({ ok: false, reason: 'invalid' });
    expect(overlapped).toBe(false);
  });

  it('says which changes break consumers of the old event contracts, and reloads all the same', async () => {
    const { file, reloader, active, logs } = await setup(async () => undefined);
    writeFileSync(file, readFileSync(file, 'utf8').replace('        - type: PetAdded\n', '        - type: PetRegistered\n'));
    const result = await reloader.reload('test');
    expect(result).toMatchObject({ ok: true, breaking: ['PetAdded: event type PetAdded is no longer produced'] });
    expect(active().contracts.events.map((e) => e.type)).toEqual(['PetRegistered']);
    expect(logs.join('\n')).toMatch(/break consumers of the old event contracts: PetAdded/);
    // Reading the same files again breaks nothing.
    expect(await reloader.reload('again')).toMatchObject({ ok: true, breaking: [] });
  });
});
