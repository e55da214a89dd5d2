import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinRegistry } from '../../connectors/index.js';
import { defaultConfig } from '../../src/config/types.js';
import { silentLogger } from '../../src/logger.js';
import { startReflex, type RunningReflex } from '../../src/runtime.js';
import { loadSpecSet } from '../../src/spec/compile.js';

describe('event contracts over HTTP', () => {
  let dir: string;
  let running: RunningReflex;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'reflex-contracts-'));
    const config = defaultConfig();
    config.server.port = 0;
    config.store.path = join(dir, 'reflex.db');
    config.sinks = [{ type: 'stdout' }];
    running = await startReflex(config, await loadSpecSet(['examples/shop/openapi.yaml']), builtinRegistry(), silentLogger);
  });
  afterAll(async () => {
    await running.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('GET /schemas serves what `reflex schema` prints for the active specs', async () => {
    const res = await fetch(`${running.url}/schemas`);
    expect(res.status).toBe(200);
    const served = (await res.json()) as { events: Array<{ type: string }>; resources: Array<{ resource: string }> };
    expect(served).toEqual(JSON.parse(JSON.stringify((await loadSpecSet(['examples/shop/openapi.yaml'])).contracts)));
    expect(served.events.map((e) => e.type)).toContain('com.shop.OrderPlaced');
    expect(served.resources.map((r) => r.resource)).toEqual(['customers', 'orders']);
  });
});
