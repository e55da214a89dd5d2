import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Parser } from '@asyncapi/parser';
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

  it('GET /asyncapi.json is a valid AsyncAPI 3.0 document; with no sink that declares channels, streams are read at their own names', async () => {
    const res = await fetch(`${running.url}/asyncapi.json`);
    expect(res.status).toBe(200);
    const text = await res.text();
    const { diagnostics } = await new Parser().parse(text);
    expect(diagnostics.filter((d) => d.severity === 0)).toEqual([]);
    const doc = JSON.parse(text) as { servers?: unknown; channels: Record<string, { address: string; messages: Record<string, unknown> }> };
    expect(doc.servers).toBeUndefined(); // the stdout sink sends nothing a consumer reads
    expect(Object.values(doc.channels).map((c) => c.address).sort()).toEqual(['alerts', 'customers', 'customers.changelog', 'orders', 'orders.changelog', 'payments']);
    expect(Object.keys(doc.channels.orders!.messages)).toEqual(['com_shop_OrderPlaced_structured', 'com_shop_OrderCancelled_structured', 'com_shop_OrderUpdated_structured']);
  });
});
