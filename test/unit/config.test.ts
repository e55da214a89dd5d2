import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { parseDuration, parseSize } from '../../src/config/duration.js';
import { validateConnectorBlock } from '../../src/config/connector-config.js';
import { defaultConfig } from '../../src/config/types.js';
import { DiagnosticError } from '../../src/model/diagnostic.js';
import { builtinRegistry } from '../../connectors/index.js';

const dir = mkdtempSync(join(tmpdir(), 'reflex-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const write = (name: string, text: string) => {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
};
const errorsOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    if (err instanceof DiagnosticError) return err.diagnostics;
    throw err;
  }
  throw new Error('expected a DiagnosticError');
};

describe('reflex.yaml', () => {
  it('applies defaults, resolves paths against the config file, substitutes ${ENV}', () => {
    const file = write('ok.yaml', [
      'specs: [specs/shop.yaml]',
      'server: { port: 9000, bodyLimit: 2mb }',
      'store: { path: data/r.db, retention: 2d, dedupeWindow: 90m }',
      'sinks:',
      '  - { type: stdout, format: "${OUT_FORMAT}" }',
    ].join('\n'));
    const cfg = loadConfig(file, { OUT_FORMAT: 'pretty' });
    expect(cfg.specs).toEqual([join(dir, 'specs/shop.yaml')]);
    expect(cfg.server).toEqual({
      host: '127.0.0.1', port: 9000, bodyLimit: 2 * 1024 * 1024, ingestAuth: null, apiAuth: null, publishAuth: null, metricsAuth: null,
      requestTimeoutMs: 60_000, headersTimeoutMs: 20_000, idleTimeoutMs: 120_000,
    });
    expect(cfg.store).toMatchObject({ path: join(dir, 'data/r.db'), retentionMs: 2 * 86_400_000, dedupeWindowMs: 90 * 60_000, sync: 'full' });
    expect(cfg.sinks).toEqual([{ type: 'stdout', format: 'pretty' }]);
  });

  it('gives every key its schema default, parsed, when the file leaves it out', () => {
    const cfg = loadConfig(write('empty.yaml', '# nothing set\n'), {});
    const day = 86_400_000;
    expect(cfg).toEqual({
      file: join(dir, 'empty.yaml'),
      specs: [],
      server: {
        host: '127.0.0.1', port: 8088, bodyLimit: 10 * 1024 * 1024, ingestAuth: null, apiAuth: null, publishAuth: null, metricsAuth: null,
        requestTimeoutMs: 60_000, headersTimeoutMs: 20_000, idleTimeoutMs: 120_000,
      },
      webhooks: {
        allowPrivateAddresses: false, retryScheduleMs: [0, 5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000],
        jitter: 0.2, timeoutMs: 15_000, disableAfterMs: 5 * day, rotationGraceMs: day, maxResponseBytes: 4096, concurrency: 16,
      },
      // The default database stays where `reflex serve` runs (only paths written in the file follow it).
      store: { type: 'sqlite', path: '.reflex/reflex.db', retentionMs: 7 * day, dedupeWindowMs: day, sync: 'full' },
      log: { level: 'info', format: 'text' },
      cdc: { reorderWindowMs: 3000, maxPending: 200_000 },
      ingest: { workers: 1 },
      reload: { watch: false },
      specRefs: { allow: [], maxBytes: 32 * 1024 * 1024 },
      limits: { jsonDepth: 256, rules: { timeoutMs: 50, maxDepth: 500, eventSize: 1024 * 1024 } },
      sources: [],
      sinks: [],
      cluster: null,
    });
    expect({ ...defaultConfig(), file: cfg.file }).toEqual(cfg);
  });

  it('specRefs: allowed folders relative to the config file, URL prefixes as given, a size', () => {
    const defaults = loadConfig(write('refs-default.yaml', 'specs: [a.yaml]\n'), {});
    expect(defaults.specRefs).toEqual({ allow: [], maxBytes: 32 * 1024 * 1024 });
    const cfg = loadConfig(write('refs.yaml', 'specRefs: { allow: [shared/schemas, "https://schemas.example/"], maxBytes: 1mb }\n'), {});
    expect(cfg.specRefs).toEqual({ allow: [join(dir, 'shared/schemas'), 'https://schemas.example/'], maxBytes: 1024 * 1024 });
    const [d] = errorsOf(() => loadConfig(write('refs-bad.yaml', 'specRefs:\n  maxBytes: lots\n'), {}));
    expect(d).toMatchObject({ code: 'RX200', pointer: '/specRefs/maxBytes', line: 2 });
  });

  it('server timeouts: durations, 0 for none; headers may not take longer than the whole request', () => {
    const cfg = loadConfig(write('timeouts.yaml', 'server: { requestTimeout: 30s, headersTimeout: 5s, idleTimeout: "0" }\n'), {});
    expect(cfg.server).toMatchObject({ requestTimeoutMs: 30_000, headersTimeoutMs: 5_000, idleTimeoutMs: 0 });
    expect(errorsOf(() => loadConfig(write('timeouts-bad.yaml', 'server:\n  requestTimeout: 10s\n  headersTimeout: 1m\n'), {}))).toEqual([
      expect.objectContaining({ pointer: '/server/headersTimeout', line: 3, message: 'server.headersTimeout (60000 ms) must not exceed server.requestTimeout (10000 ms)' }),
    ]);
    expect(errorsOf(() => loadConfig(write('timeouts-word.yaml', 'server:\n  idleTimeout: long\n'), {}))).toEqual([
      expect.objectContaining({ pointer: '/server/idleTimeout', line: 2, message: expect.stringContaining("'long' is not a duration") }),
    ]);
  });

  it('names the file, line, column and key of an unknown key', () => {
    const file = write('typo.yaml', 'server:\n  host: 0.0.0.0\n  prot: 80\n');
    const [d] = errorsOf(() => loadConfig(file, {}));
    expect(d).toMatchObject({ code: 'RX200', file, pointer: '/server', line: 2, column: 3 });
    expect(d!.message).toContain("unknown key 'prot'");
  });

  it('reports a wrong type and a bad duration with their lines', () => {
    const file = write('types.yaml', 'server:\n  port: eighty\nstore:\n  retention: forever\n');
    const diags = errorsOf(() => loadConfig(file, {}));
    expect(diags).toEqual([expect.objectContaining({ pointer: '/server/port', line: 2, column: 9 })]);
    const file2 = write('dur.yaml', 'store:\n  retention: forever\n');
    expect(errorsOf(() => loadConfig(file2, {}))).toEqual([
      expect.objectContaining({ pointer: '/store/retention', line: 2, message: expect.stringContaining("'forever' is not a duration") }),
    ]);
  });

  it('refuses an unset environment variable, by name and place', () => {
    const file = write('env.yaml', 'sinks:\n  - { type: stdout, name: "${NOPE_NOT_SET}" }\n');
    expect(errorsOf(() => loadConfig(file, {}))).toEqual([
      expect.objectContaining({ code: 'RX202', pointer: '/sinks/0/name', line: 2, message: 'environment variable NOPE_NOT_SET is not set' }),
    ]);
  });

  it('reports YAML syntax errors with their position', () => {
    const file = write('syntax.yaml', 'server: { port: 1\n');
    const [d] = errorsOf(() => loadConfig(file, {}));
    expect(d).toMatchObject({ code: 'RX200', file, line: expect.any(Number) });
  });

  it('lets each connector check its own block, naming the config line', () => {
    const registry = builtinRegistry();
    const file = write('conn.yaml', 'sources:\n  - type: file\n    path: x.log\n    formt: kong\n  - type: s4\n');
    const cfg = loadConfig(file, {});
    const [missing, unknownKey] = errorsOf(() => validateConnectorBlock('source', cfg.sources[0]!, registry.sources.get('file'), registry));
    expect(missing).toMatchObject({ code: 'RX201', file, line: 2, message: expect.stringContaining("must have required property 'format'") });
    expect(unknownKey!.message).toContain("unknown key 'formt'");
    const [unknownType] = errorsOf(() => validateConnectorBlock('source', cfg.sources[1]!, registry.sources.get('s4'), registry));
    expect(unknownType!.message).toBe("unknown source type 's4' (known: http, file, kafka, envoy-als, s3, elasticsearch)");
  });

  it('parses durations and sizes', () => {
    expect(parseDuration('7d')).toBe(604_800_000);
    expect(parseDuration('2h30m')).toBe(9_000_000);
    expect(parseDuration('1500ms')).toBe(1500);
    expect(parseDuration('7 days')).toBeNull();
    expect(parseSize('10mb')).toBe(10 * 1024 * 1024);
    expect(parseSize(4096)).toBe(4096);
    expect(parseSize('lots')).toBeNull();
  });
});

describe('sinks and sources in one process', () => {
  it('refuses two sinks with the same name, since the name keys their committed offsets', async () => {
    const { startReflex } = await import('../../src/runtime.js');
    const { loadSpecSet } = await import('../../src/spec/compile.js');
    const { defaultConfig } = await import('../../src/config/types.js');
    const { silentLogger } = await import('../../src/logger.js');
    const config = defaultConfig();
    config.server.port = 0;
    config.store.path = join(dir, 'twice.db');
    config.sinks = [{ type: 'stdout' }, { type: 'stdout' }];
    const specs = await loadSpecSet(['examples/shop/openapi.yaml']);
    await expect(startReflex(config, specs, builtinRegistry(), silentLogger)).rejects.toThrow("two sinks are named 'stdout'");
  });
});
