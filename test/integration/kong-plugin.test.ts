import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ensureLua, type LuaTools } from '../../testbed/lua.js';
import { ROOT, startReflexProcess, type ReflexProcess } from '../support/reflex-process.js';

// The two ways from Kong into reflex: the `reflex` plugin (plugins/kong) and Kong's stock pre-function +
// http-log as examples/kong-http-log/kong.yml configures them. Kong's runtime (OpenResty + Kong)
// cannot be installed here, so their Lua runs under LuaJIT against a stand-in for the PDK
// (plugins/kong/spec/support/kong_pdk.lua) that replays Kong's phases and kong.log.serialize()'s
// wire format. What would be POSTed is then sent, byte for byte, to a real reflex.

const PLUGIN = join(ROOT, 'plugins/kong');
let lua: LuaTools;
let dir: string;
let reflex: ReflexProcess | undefined;

beforeAll(async () => {
  lua = ensureLua(); // apt-get install on a fresh machine: first run only
  dir = mkdtempSync(join(tmpdir(), 'reflex-kong-plugin-'));
  reflex = await startReflexProcess(['--spec', join(ROOT, 'examples/shop/openapi.yaml'), '--data', dir]);
}, 300_000);
afterAll(async () => {
  await reflex?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const luajit = (args: string[]) => spawnSync(lua.luajit, args, { cwd: PLUGIN, encoding: 'utf8' });

describe('Kong plugin reflex', () => {
  it('passes its busted specs under LuaJIT', () => {
    const r = luajit([lua.busted, '-o', 'plainTerminal', '--verbose']);
    const out = `${r.error?.message ?? ''}${r.stdout}${r.stderr}`;
    expect(r.status, out).toBe(0);
    expect(out).toMatch(/[1-9]\d* successes \/ 0 failures \/ 0 errors/);
  });

  it("posts log objects that reflex's /ingest/kong accepts byte for byte, bodies included", async () => {
    const out = join(dir, 'batch.json');
    const drive = luajit(['spec/drive.lua', out]);
    expect(drive.status, `${drive.stdout}${drive.stderr}`).toBe(0);
    const bytes = readFileSync(out); // exactly what the queue handler gave resty.http
    const sent = JSON.parse(readFileSync(`${out}.request.json`, 'utf8')) as { method: string; uri: string; headers: Record<string, string> };
    expect(sent).toMatchObject({ method: 'POST', uri: 'http://127.0.0.1:8088/ingest/kong', headers: { 'Content-Type': 'application/json' } });
    expect(sent.headers.Authorization).toBeUndefined(); // no ingest_token configured
    expect(bytes[0]).toBe(0x5b); // a JSON array, whatever the batch size

    await expectShopEvents(await ingest(bytes, sent), 'ord_7001', 'd2b4c6e8f0a1b3c5d7e9f1a3b5c7d9e1');
  });

  it('examples/kong-plugin/kong.yml configures only fields of the plugin\'s schema', () => {
    const kongYml = parse(readFileSync(join(ROOT, 'examples/kong-plugin/kong.yml'), 'utf8')) as KongYml;
    expect(kongYml._format_version).toBe('3.0');
    const plugin = kongYml.plugins.find((p) => p.name === 'reflex')!;
    expect(kongYml.services.map((s) => s.name)).toContain(plugin.service);
    const r = luajit(['-e', SCHEMA_FIELDS]);
    expect(r.status, r.stderr).toBe(0);
    const fields = JSON.parse(r.stdout) as Record<string, string[]>;
    expect(Object.keys(plugin.config).filter((k) => !fields.config!.includes(k))).toEqual([]);
    expect(Object.keys(plugin.config.queue as object).filter((k) => !fields.queue!.includes(k))).toEqual([]);
    expect(plugin.config.http_endpoint).toMatch(/\/ingest\/kong$/);
  });
});

describe("Kong's stock pre-function + http-log (examples/kong-http-log/kong.yml)", () => {
  it('capture both bodies, and reflex accepts what http-log posts', async () => {
    const kongYml = parse(readFileSync(join(ROOT, 'examples/kong-http-log/kong.yml'), 'utf8')) as KongYml;
    expect(kongYml._format_version).toBe('3.0');
    const pre = kongYml.plugins.find((p) => p.name === 'pre-function')!.config;
    const httpLog = kongYml.plugins.find((p) => p.name === 'http-log')!.config;
    expect(httpLog.http_endpoint).toMatch(/\/ingest\/kong$/);
    expect((httpLog.queue as { max_batch_size: number }).max_batch_size).toBeGreaterThan(1); // http-log then posts an array
    const snippets = join(dir, 'snippets.json');
    writeFileSync(snippets, JSON.stringify({ access: pre.access, body_filter: pre.body_filter, custom_fields_by_lua: httpLog.custom_fields_by_lua }));

    const out = join(dir, 'http-log-batch.json');
    const drive = luajit(['spec/drive_http_log.lua', snippets, out]);
    expect(drive.status, `${drive.stdout}${drive.stderr}`).toBe(0);
    const bytes = readFileSync(out);
    const entries = JSON.parse(bytes.toString('utf8')) as Array<{ request: { body?: string }; response: { body?: string } }>;
    expect(entries.map((e) => [typeof e.request.body, typeof e.response.body])).toEqual([['string', 'string'], ['string', 'string']]);

    await expectShopEvents(await ingest(bytes, { method: 'POST', headers: { 'Content-Type': 'application/json' } }), 'ord_7002', 'f4d6e8a0b2c3d5e7f9a1b3c5d7e9f1a3');
  });
});

interface KongYml {
  _format_version: string;
  services: Array<{ name: string }>;
  plugins: Array<{ name: string; service?: string; config: Record<string, unknown> }>;
}

// The names of the plugin's config fields and queue fields, read from schema.lua under the stand-in's typedefs.
const SCHEMA_FIELDS = `
package.path = "./?.lua;" .. package.path
require("spec.support.kong_pdk").install()
local schema = require("kong.plugins.reflex.schema")
local out = { config = {}, queue = {} }
for _, f in ipairs(schema.fields) do
  if f.config then
    for _, field in ipairs(f.config.fields) do
      local name, def = next(field)
      table.insert(out.config, name)
      if name == "queue" then
        for _, q in ipairs(def.fields) do table.insert(out.queue, (next(q))) end
      end
    end
  end
end
io.write(require("cjson").encode(out))
`;

async function ingest(bytes: Buffer, sent: { method: string; headers: Record<string, string> }): Promise<unknown> {
  const res = await fetch(`${reflex!.url}/ingest/kong`, { method: sent.method, headers: sent.headers, body: bytes });
  const answer = await res.text();
  expect(res.status, answer).toBeGreaterThanOrEqual(200);
  expect(res.status, answer).toBeLessThan(300);
  return JSON.parse(answer);
}

/** The shop scenario (plugins/kong/spec/support/shop_scenario.lua) for `order` became these events. */
async function expectShopEvents(answer: unknown, order: string, createRequestId: string): Promise<void> {
  expect(answer).toMatchObject({ received: 2, accepted: 2, deadLetters: 0, unmatched: 0 });
  const all = (await (await fetch(`${reflex!.url}/streams/orders/events?after=0&limit=100`)).json()) as Array<{ key: string; value: any }>;
  const events = all.filter((e) => e.key === order);
  expect(events.map((e) => e.value.type)).toEqual(['com.shop.OrderPlaced', 'com.shop.OrderCancelled']);
  // from the response body, assembled from three body_filter chunks
  expect(events[0]!.value).toMatchObject({
    subject: order,
    reflexoperation: 'createOrder',
    reflexrequestid: createRequestId,
    data: { orderId: order, customerId: 'cus_2001', total: 550, currency: 'EUR', items: [{ sku: 'LAMP-OAK', quantity: 1 }, { sku: 'BULB-E27', quantity: 4 }] },
  });
  // the reason is only in the PATCH's request body (non-ASCII text kept intact)
  expect(events[1]!.value.data).toEqual({ orderId: order, reason: 'customer changed mind – ordered twice' });

  const alerts = (await (await fetch(`${reflex!.url}/streams/alerts/events?after=0&limit=100`)).json()) as Array<{ value: any }>;
  expect(alerts.map((e) => e.value.data)).toContainEqual({ orderId: order, total: 550 });
}
