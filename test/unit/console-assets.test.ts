import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { builtinRegistry } from '../../connectors/index.js';
import { defaultConfig } from '../../src/config/types.js';
import { silentLogger } from '../../src/logger.js';
import { startReflex, type RunningReflex } from '../../src/runtime.js';
import { consoleFolder, registerConsoleAssets } from '../../src/server/console-assets.js';
import { loadSpecSet } from '../../src/spec/compile.js';

const cleanup: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
});

describe('the console\'s files at /console/', () => {
  it('are behind server.apiAuth like the API: basic credentials open them, the browser is asked for them', async () => {
    expect(consoleFolder(), 'dist/console is built by npm run build (and the tests\' global setup)').not.toBeNull();
    const dir = mkdtempSync(join(tmpdir(), 'reflex-console-'));
    const config = defaultConfig();
    config.server.port = 0;
    config.store.path = join(dir, 'reflex.db');
    config.server.apiAuth = { basic: { username: 'ops', password: 'a long enough secret' } };
    const running: RunningReflex = await startReflex(config, await loadSpecSet(['examples/shop/openapi.yaml']), builtinRegistry(), silentLogger);
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }), () => running.stop());

    const denied = await fetch(`${running.url}/console/`);
    expect(denied.status).toBe(401);
    expect(denied.headers.get('www-authenticate')).toBe('Basic realm="reflex"');
    const authorization = `Basic ${Buffer.from('ops:a long enough secret').toString('base64')}`;
    const page = await fetch(`${running.url}/console/`, { headers: { authorization } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<script type="module" src="main.js"></script>');
    expect(page.headers.get('content-security-policy')).toMatch(/default-src 'self'/);
    const css = await fetch(`${running.url}/console/style.css`, { headers: { authorization } });
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
    const redirect = await fetch(`${running.url}/console`, { headers: { authorization }, redirect: 'manual' });
    expect([redirect.status, redirect.headers.get('location')]).toEqual([308, '/console/']);
    expect((await fetch(`${running.url}/console/nothing.js`, { headers: { authorization } })).status).toBe(404);
  });

  it('say how to build them where they are missing', async () => {
    const app = Fastify();
    registerConsoleAssets(app, null);
    cleanup.push(() => app.close());
    const res = await app.inject({ url: '/console/' });
    expect(res.statusCode).toBe(503);
    expect(res.json().error).toMatch(/npm run build/);
  });
});
