import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import SwaggerParser from '@apidevtools/swagger-parser';
import { builtinRegistry } from '../../connectors/index.js';
import { defaultConfig } from '../../src/config/types.js';
import { silentLogger } from '../../src/logger.js';
import { startReflex } from '../../src/runtime.js';
import { loadSpecSet } from '../../src/spec/compile.js';

describe('GET /openapi.json', () => {
  it('is a valid OpenAPI document that describes every route reflex serves, and nothing else', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reflex-api-'));
    const config = defaultConfig();
    config.server.port = 0;
    config.store.path = join(dir, 'reflex.db');
    config.sinks = [{ type: 'stdout' }];
    const running = await startReflex(config, await loadSpecSet(['examples/shop/openapi.yaml']), builtinRegistry(), silentLogger);
    try {
      const doc = (await (await fetch(`${running.url}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
      await SwaggerParser.validate(structuredClone(doc) as never);
      // Routes only cluster mode serves (`x-reflex-mode: cluster`) are not served here.
      const documented = Object.entries(doc.paths)
        .filter(([, item]) => item['x-reflex-mode'] !== 'cluster')
        .flatMap(([path, item]) => Object.keys(item).filter((k) => k !== 'parameters' && !k.startsWith('x-')).map((m) => `${m.toUpperCase()} ${path}`)).sort();
      // Fastify's syntax in OpenAPI's: `:name` -> `{name}`, the resource key wildcard -> `{key}`, the console's files -> `{path}`.
      const routes = new Set(running.routes.map((r) => r.replace(/:(\w+)/g, '{$1}').replace(/^(GET \/console)\/\*$/, '$1/{path}').replace(/\/\*$/, '/{key}')));
      expect([...routes].sort()).toEqual(documented);
    } finally {
      await running.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
