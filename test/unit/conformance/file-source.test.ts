import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { fileSource } from '../../../connectors/sources/file/tail.js';
import { kongLog } from '../../support/kong-log.js';
import { sourceConformance } from '../../support/conformance/source.js';

const dir = mkdtempSync(join(tmpdir(), 'reflex-file-conformance-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

const line = (id: string) => JSON.stringify(kongLog({ id, startedAt: 1_700_000_000_000, method: 'GET', path: '/v1/orders/1', status: 200 })) + '\n';

sourceConformance('file', {
  connector: fileSource,
  config: () => ({ path: join(dir, `kong-${++files}.ndjson`), format: 'kong', pollMs: 50 }),
  async send(instance, ids) {
    appendFileSync(instance.settings.path as string, ids.map(line).join(''));
    return true;
  },
  pickupMs: 5_000,
  badConfigs: [
    { what: 'an unknown format', block: { path: 'kong.log', format: 'kongg' }, pointer: '/format', message: /unknown format 'kongg'/ },
    { what: 'a poll interval below its minimum', block: { path: 'kong.log', format: 'kong', pollMs: 5 }, pointer: '/pollMs', message: /pollMs must be >= 50/ },
    { what: 'no path', block: { format: 'kong' }, message: /must have required property 'path'/ },
  ],
});
