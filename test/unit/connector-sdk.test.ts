import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ESLint } from 'eslint';
import { afterAll, describe, expect, it } from 'vitest';
import { builtinRegistry } from '../../connectors/index.js';
import { validateConnectorBlock } from '../../src/config/connector-config.js';
import { loadConfig } from '../../src/config/load.js';
import { DiagnosticError } from '../../src/model/diagnostic.js';
import { silentLogger } from '../../src/logger.js';
import { sourceContext } from '../../src/sources/host.js';
import { BackpressureError, type DecodedEntry } from '../../src/sources/types.js';

const dir = mkdtempSync(join(tmpdir(), 'reflex-sdk-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const registry = builtinRegistry();

/** A reflex.yaml in its own folder, loaded from elsewhere (the working directory is not that folder). */
function configIn(folder: string, text: string) {
  mkdirSync(join(dir, folder), { recursive: true });
  const file = join(dir, folder, 'reflex.yaml');
  writeFileSync(file, text);
  return { file, config: loadConfig(file, {}) };
}

describe('file paths in reflex.yaml', () => {
  it('resolves TLS files and the file source path against the folder of reflex.yaml', () => {
    const { config } = configIn('deploy', [
      'specs: [specs/shop.yaml]',
      'sources:',
      '  - { type: envoy-als, tls: { cert: certs/server.pem, key: certs/server.key, ca: /etc/ca.pem } }',
      '  - { type: kafka, brokers: ["k:9092"], topics: [logs], format: kong, ssl: { ca: ../ca.pem } }',
      '  - { type: file, path: logs/kong.ndjson, format: kong }',
    ].join('\n'));
    const [envoy, kafka, file] = config.sources.map((b) => validateConnectorBlock('source', b, registry.sources.get(b.type), registry));
    expect(config.specs).toEqual([join(dir, 'deploy/specs/shop.yaml')]);
    expect(envoy!.tls).toEqual({ cert: join(dir, 'deploy/certs/server.pem'), key: join(dir, 'deploy/certs/server.key'), ca: '/etc/ca.pem', requireClientCert: false });
    expect(kafka!.ssl).toEqual({ ca: join(dir, 'ca.pem') });
    expect(file!.path).toBe(join(dir, 'deploy/logs/kong.ndjson'));
  });

  it('refuses an unknown format: naming the config file and line', () => {
    const { file, config } = configIn('typo', 'sources:\n  - type: file\n    path: x.log\n    format: kongg\n');
    let err: unknown;
    try {
      validateConnectorBlock('source', config.sources[0]!, registry.sources.get('file'), registry);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DiagnosticError);
    expect((err as DiagnosticError).diagnostics).toEqual([expect.objectContaining({
      code: 'RX201', file, line: 2, pointer: '/sources/0/format', message: "source 'file': unknown format 'kongg' (known: kong, exchange, envoy-json, aws-apigw, ecs)",
    })]);
  });
});

describe('ctx.ingest', () => {
  const result = { accepted: 1, duplicates: 0, records: 0, deadLetters: 0, unmatched: 0, appended: new Map() };
  const entries: DecodedEntry[] = [];
  const host = (commit: () => Promise<typeof result>) => sourceContext({
    name: 't', logger: silentLogger, format: null, decodeOptions: {}, http: { post() {} }, getCheckpoint: () => null, commit,
  });

  it('waits out backpressure for Retry-After and commits the same batch then', async () => {
    let calls = 0;
    const { context } = host(async () => {
      if (++calls < 3) throw new BackpressureError('sink behind', 0.05);
      return result;
    });
    const started = Date.now();
    await expect(context.ingest(entries, { checkpoint: '7' })).resolves.toBe(result);
    expect(calls).toBe(3);
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
  });

  it('refuses at once when the source asks so (a receiver answers 503)', async () => {
    const { context } = host(async () => {
      throw new BackpressureError('sink behind', 5);
    });
    await expect(context.ingest(entries, { backpressure: 'refuse' })).rejects.toBeInstanceOf(BackpressureError);
  });

  it('ends the wait when the source is stopped, without committing', async () => {
    let calls = 0;
    const { context, stopping } = host(async () => {
      calls++;
      throw new BackpressureError('sink behind', 60);
    });
    const waiting = context.ingest(entries);
    setTimeout(() => stopping.abort(), 50);
    const started = Date.now();
    await expect(waiting).rejects.toMatchObject({ name: 'AbortError' });
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(calls).toBe(1);
    expect(context.signal.aborted).toBe(true);
  });
});

describe('the connector boundary', () => {
  it('ESLint refuses a connector that imports a core module instead of the SDK', async () => {
    const eslint = new ESLint({ cwd: process.cwd() });
    const code = "import { hashHex } from '../../../src/model/hash.js';\nimport type { Logger } from '../../../src/sdk/index.js';\nexport const f = (l: Logger) => hashHex(String(l));\n";
    const [report] = await eslint.lintText(code, { filePath: 'connectors/sources/example/source.ts' });
    expect(report!.messages.map((m) => [m.ruleId, m.line])).toEqual([['no-restricted-imports', 1]]);
    const [core] = await eslint.lintText(code, { filePath: 'src/example.ts' });
    expect(core!.messages).toEqual([]);
  });
});
