import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { stringify } from 'yaml';
import { builtinRegistry } from '../../../connectors/index.js';
import { loadConfig } from '../../../src/config/load.js';
import { silentLogger } from '../../../src/logger.js';
import type { Registry } from '../../../src/registry.js';
import { startReflex } from '../../../src/runtime.js';
import { loadSpecSet } from '../../../src/spec/compile.js';
import type { CompiledSpecSet } from '../../../src/spec/types.js';

/** A config block a connector must refuse, and what the refusal says besides reflex.yaml's file and line. */
export interface BadConfig {
  /** What is wrong, for the test name. */
  what: string;
  /** The block without `type`. */
  block: Record<string, unknown>;
  /** JSON pointer of the offending field inside the block, when the refusal names one (schema errors do). */
  pointer?: string;
  /** Part of the message. */
  message: RegExp;
}

let specs: Promise<CompiledSpecSet> | null = null;

/**
 * Starts reflex (in process, the way `reflex serve` does) with a reflex.yaml holding only this
 * block, and expects the start to fail naming reflex.yaml and the line of the block: a schema error
 * and a refusal by the connector's create() alike.
 */
export async function expectConfigRefused(kind: 'sources' | 'sinks', type: string, bad: BadConfig, registry: Registry = builtinRegistry()): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'reflex-conformance-config-'));
  try {
    const file = join(dir, 'reflex.yaml');
    // Line 1 `sources:`/`sinks:`, line 2 the block.
    writeFileSync(file, stringify({ [kind]: [{ type, ...bad.block }] }));
    specs ??= loadSpecSet([new URL('../../../examples/shop/openapi.yaml', import.meta.url).pathname]);
    const config = loadConfig(file, {});
    config.server.port = 0;
    // The default store path is relative to the working directory: keep each run's store in `dir`.
    config.store.path = join(dir, 'reflex.db');
    let refusal: Error | null = null;
    try {
      const running = await startReflex(config, await specs, registry, silentLogger);
      await running.stop();
    } catch (err) {
      refusal = err as Error;
    }
    expect(refusal, `reflex started with the ${kind} block (${bad.what})`).not.toBeNull();
    expect(refusal!.message).toContain(`${file}:2:`);
    expect(refusal!.message).toMatch(bad.message);
    if (bad.pointer !== undefined) expect(refusal!.message).toContain(`/${kind}/0${bad.pointer}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Polls until `done(get())`, failing with what it saw last. */
export async function eventually<T>(what: string, get: () => T | Promise<T>, done: (v: T) => boolean, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await get();
    if (done(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
