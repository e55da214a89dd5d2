import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { kongLog } from '../support/kong-log.js';
import { ROOT, startReflexProcess, type ReflexProcess } from '../support/reflex-process.js';

const SHOP = `${ROOT}examples/shop/openapi.yaml`;
const TOKEN = 'test-token-0123456789abcdef';
const dirs: string[] = [];
const processes: ReflexProcess[] = [];

async function start(yaml: string, env: NodeJS.ProcessEnv = {}): Promise<ReflexProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'reflex-auth-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'reflex.yaml'), yaml);
  const p = await startReflexProcess(['--spec', SHOP, '--data', dir, '--config', join(dir, 'reflex.yaml')], env);
  processes.push(p);
  return p;
}

afterAll(async () => {
  for (const p of processes) await p.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const log = JSON.stringify([kongLog({ id: 'auth-1', startedAt: Date.parse('2026-11-03T08:00:00Z'), method: 'POST', path: '/v1/customers', status: 201,
  requestBody: { email: 'a@example.com', name: 'A' }, responseBody: { id: 'cus_9', email: 'a@example.com', name: 'A' } })]);
const ingest = (url: string, headers: Record<string, string> = {}) =>
  fetch(`${url}/ingest/kong`, { method: 'POST', body: log, headers: { 'content-type': 'application/json', ...headers } });

describe('ingest credentials', () => {
  it('with server.ingestAuth, /ingest/* needs the bearer token or the basic credential; nothing is stored without', async () => {
    const reflex = await start(
      'server: { host: 0.0.0.0, ingestAuth: { token: "${INGEST_TOKEN}", basic: { username: kong, password: "s3cret-pass" } } }\n',
      { INGEST_TOKEN: TOKEN },
    );
    // With a credential configured, it listens where it was told to.
    expect(reflex.url).toMatch(/^http:\/\/0\.0\.0\.0:/);
    const none = await ingest(reflex.url);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toContain('Bearer');
    expect((await none.json()).error).toContain('server.ingestAuth');
    expect((await ingest(reflex.url, { authorization: 'Bearer wrong-token' })).status).toBe(401);
    expect((await ingest(reflex.url, { authorization: `Basic ${Buffer.from('kong:wrong').toString('base64')}` })).status).toBe(401);
    const streams = async () => (await (await fetch(`${reflex.url}/streams`)).json()) as Array<{ name: string; count: number }>;
    expect((await streams()).find((s) => s.name === 'customers')!.count).toBe(0);

    expect((await ingest(reflex.url, { authorization: `Bearer ${TOKEN}` })).status).toBe(200);
    expect((await ingest(reflex.url, { authorization: `Basic ${Buffer.from('kong:s3cret-pass').toString('base64')}` })).status).toBe(200);
    expect((await streams()).find((s) => s.name === 'customers')!.count).toBe(1);
    expect(reflex.output()).not.toContain(TOKEN);
  });

  it('without a credential, listens on loopback only whatever host is configured, and says so', async () => {
    const reflex = await start('server: { host: 0.0.0.0 }\n');
    expect(reflex.url).toMatch(/^http:\/\/127\.0\.0\.1:/);
    expect(reflex.output()).toContain('listens on loopback only');
    expect((await ingest(reflex.url)).status).toBe(200);
  });

  it('refuses a token too short to be a secret, naming the key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reflex-auth-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'reflex.yaml'), 'server:\n  ingestAuth: { token: short }\n');
    await expect(startReflexProcess(['--spec', SHOP, '--data', dir, '--config', join(dir, 'reflex.yaml')])).rejects.toThrow(/reflex\.yaml:2:\d+.*\/server\/ingestAuth\/token/s);
  });

  it('keeps the consumer and admin API to loopback clients unless server.apiAuth is set; health stays open', async () => {
    const external = Object.values(networkInterfaces()).flat().find((i) => i && !i.internal && i.family === 'IPv4');
    expect(external, 'this test needs a non-loopback IPv4 interface to call from').toBeDefined();
    const open = await start(`server: { host: 0.0.0.0, ingestAuth: { token: "${TOKEN}" } }\n`);
    const port = new URL(open.url).port;
    const fromNetwork = `http://${external!.address}:${port}`;
    expect((await fetch(`${fromNetwork}/healthz`)).status).toBe(200);
    const refused = await fetch(`${fromNetwork}/webhooks`);
    expect(refused.status).toBe(403);
    expect((await refused.json()).error).toContain('server.apiAuth');
    expect((await fetch(`http://127.0.0.1:${port}/webhooks`)).status).toBe(200);
    // The ingest token opens ingest, from anywhere, and nothing else.
    expect((await ingest(fromNetwork, { authorization: `Bearer ${TOKEN}` })).status).toBe(200);

    const API_TOKEN = 'api-token-0123456789abcdef';
    const guarded = await start(`server: { host: 0.0.0.0, ingestAuth: { token: "${TOKEN}" }, apiAuth: { token: "${API_TOKEN}" } }\n`);
    const gPort = new URL(guarded.url).port;
    for (const base of [`http://${external!.address}:${gPort}`, `http://127.0.0.1:${gPort}`]) {
      expect((await fetch(`${base}/streams`)).status).toBe(401);
      expect((await fetch(`${base}/streams`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(401);
      expect((await fetch(`${base}/streams`, { headers: { authorization: `Bearer ${API_TOKEN}` } })).status).toBe(200);
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
    }
  });
});
