import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DiagnosticError } from '../../src/model/diagnostic.js';
import { loadSpecSet } from '../../src/spec/compile.js';
import { loadSpec } from '../../src/spec/load.js';
import { DEFAULT_REF_POLICY } from '../../src/spec/ref-files.js';
import { F, linesOf } from './spec-helpers.js';

const E = `${F}/errors`;

describe('loading OpenAPI documents', () => {
  it('reads 3.1 YAML and 3.0 JSON, with $refs across files', async () => {
    const shop = await loadSpec(`${F}/shop.yaml`);
    expect(shop.report.diagnostics).toEqual([]);
    expect(shop.display).toBe(`${F}/shop.yaml`);
    expect(shop.api?.openapi).toBe('3.1.0');
    const billing = await loadSpec(`${F}/billing.json`);
    expect(billing.report.diagnostics).toEqual([]);
    expect(billing.api?.openapi).toBe('3.0.3');
  });

  it('RX001: a file that does not exist', async () => {
    expect(await linesOf('errors/nope.yaml')).toEqual([`${E}/nope.yaml - error RX001: cannot read ${E}/nope.yaml: no such file`]);
  });

  it('RX002: YAML and JSON syntax, with positions', async () => {
    expect(await linesOf('errors/syntax.yaml')).toEqual([`${E}/syntax.yaml:6:3 - error RX002: YAML syntax: Map keys must be unique`]);
    expect(await linesOf('errors/syntax.json')).toEqual([
      `${E}/syntax.json:5:37 - error RX002: JSON syntax: Flow sequence in block collection must be sufficiently indented and end with a ]`,
      `${E}/syntax.json:8:1 - error RX002: JSON syntax: Flow map must end with a }`,
    ]);
  });

  it('RX002: a syntax error in a referenced file is reported in that file', async () => {
    const lines = await linesOf('errors/syntax-ref.yaml');
    expect(lines[0]).toBe(`${E}/syntax-fragment.yaml:5:1 - error RX002: YAML syntax: Missing closing "quote`);
    expect(lines.every((l) => l.startsWith(`${E}/syntax-fragment.yaml:`))).toBe(true);
  });

  it('RX003 and RX005: broken $refs and schema violations are all reported together', async () => {
    expect(await linesOf('errors/openapi.yaml')).toEqual([
      `${E}/openapi.yaml:4:3 - error RX005: 'info' is missing the required key 'version' (at /info)`,
      `${E}/openapi.yaml:8:7 - error RX005: 'get' is missing the required key 'responses' (at /paths/~1a/get)`,
      `${E}/openapi.yaml:9:49 - error RX005: 'type' must be one of array, boolean, integer, number, object or string, not 'strin'. Did you mean 'string'? (at /paths/~1a/get/parameters/0/schema/type)`,
      `${E}/openapi.yaml:11:11 - error RX003: cannot resolve $ref './missing.yaml#/b': ${E}/missing.yaml does not exist (at /paths/~1b/$ref)`,
      `${E}/openapi.yaml:19:31 - error RX003: cannot resolve $ref '#/components/schemas/Nope': 'Nope' does not exist in ${E}/openapi.yaml (at /paths/~1c/get/responses/200/content/application~1json/schema/$ref)`,
    ]);
  });

  it('RX004: Swagger 2.0 and unsupported versions', async () => {
    expect(await linesOf('errors/swagger2.json')).toEqual([
      `${E}/swagger2.json:1:14 - error RX004: Swagger 2.0 is not supported: reflex reads OpenAPI 3.0 and 3.1. Convert the document to OpenAPI 3 (e.g. with swagger2openapi). (at /swagger)`,
    ]);
    expect(await linesOf('errors/version.yaml')).toEqual([
      `${E}/version.yaml:1:10 - error RX004: unsupported OpenAPI version 3.2: reflex reads 3.0.x and 3.1.x. Quote the version, e.g. openapi: "3.1.0". (at /openapi)`,
    ]);
  });

  it('loadSpecSet throws one DiagnosticError with the findings of every file', async () => {
    const error = await loadSpecSet([`${E}/syntax.yaml`, `${E}/swagger2.json`, `${E}/annotations.yaml`]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DiagnosticError);
    const files = new Set((error as DiagnosticError).diagnostics.map((d) => d.file));
    expect([...files]).toEqual([`${E}/syntax.yaml`, `${E}/swagger2.json`, `${E}/annotations.yaml`]);
    const severities = (error as DiagnosticError).diagnostics.map((d) => d.severity);
    // 1 + 1 + 17 errors; the 2 warnings of annotations.yaml travel along
    expect(severities.filter((s) => s === 'error')).toHaveLength(19);
    expect(severities.filter((s) => s === 'warning')).toHaveLength(2);
  });
});

describe('what a $ref may read', () => {
  const root = mkdtempSync(join(tmpdir(), 'reflex-refs-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const specs = join(root, 'specs');
  const outside = join(root, 'outside');
  mkdirSync(join(specs, 'sub'), { recursive: true });
  mkdirSync(outside);
  const pathItem = (description: string) => `get:\n  responses:\n    '200': { description: ${description} }\n`;
  writeFileSync(join(outside, 'secret.yaml'), pathItem('TOPSECRET-VALUE'));
  writeFileSync(join(specs, 'sub', 'ok.yaml'), pathItem('fine'));
  writeFileSync(join(specs, 'sub', 'big.yaml'), pathItem('x'.repeat(4096)));
  symlinkSync(join(outside, 'secret.yaml'), join(specs, 'sub', 'link.yaml'));
  const spec = join(specs, 'api.yaml');
  writeFileSync(spec, [
    'openapi: 3.1.0',
    "info: { title: refs, version: '1' }",
    'paths:',
    '  /passwd:',
    "    $ref: '/etc/passwd'",
    '  /secret:',
    "    $ref: '../outside/secret.yaml'",
    '  /zero:',
    "    $ref: '/dev/zero'",
    '  /link:',
    "    $ref: 'sub/link.yaml'",
    '  /remote:',
    "    $ref: 'https://schemas.example/x.yaml'",
    '  /ok:',
    "    $ref: 'sub/ok.yaml'",
    '',
  ].join('\n'));
  const lines = (d: Array<{ file?: string; line?: number; column?: number; code: string; pointer?: string; message: string }>) =>
    d.map((x) => `${x.file}:${x.line}:${x.column} ${x.code} ${x.pointer} ${x.message}`);

  it('RX007: only regular files inside the spec\'s folder tree; never outside, through a link, a device or http', async () => {
    const loaded = await loadSpec(spec);
    const got = lines(loaded.report.diagnostics);
    expect(got).toEqual([
      expect.stringMatching(/:5:11 RX007 \/paths\/~1passwd\/\$ref cannot resolve \$ref '\/etc\/passwd': \/etc\/passwd is not read: it is outside the spec's folder /),
      expect.stringMatching(/:7:11 RX007 \/paths\/~1secret\/\$ref .*outside\/secret\.yaml is not read: it is outside the spec's folder /),
      expect.stringMatching(/:9:11 RX007 \/paths\/~1zero\/\$ref .*\/dev\/zero is not read/),
      expect.stringMatching(/:11:11 RX007 \/paths\/~1link\/\$ref .*sub\/link\.yaml is not read: it is outside/),
      expect.stringMatching(/:13:11 RX007 \/paths\/~1remote\/\$ref .*http\(s\) \$refs are refused/),
    ]);
    expect(got.every((l) => l.startsWith(`${loaded.display}:`))).toBe(true);
    // What was refused was never read: its content is nowhere, neither in messages nor in the document.
    expect(JSON.stringify(loaded.report.diagnostics)).not.toContain('TOPSECRET');
    expect(JSON.stringify(loaded.api)).not.toContain('TOPSECRET');
    expect(JSON.stringify(loaded.api)).not.toContain('root:');
    expect((loaded.api as { paths: Record<string, unknown> }).paths['/ok']).toMatchObject({ get: { responses: { 200: { description: 'fine' } } } });
  });

  it('reads more folders when allowed, still only regular files up to maxBytes', async () => {
    const allowed = await loadSpec(spec, { allow: [outside, '/dev'], maxBytes: DEFAULT_REF_POLICY.maxBytes });
    const got = lines(allowed.report.diagnostics);
    expect(got.some((l) => l.includes('~1secret') || l.includes('~1link'))).toBe(false);
    expect(got).toContainEqual(expect.stringMatching(/RX007 \/paths\/~1zero\/\$ref .*\/dev\/zero is not read: it is not a regular file/));
    expect(JSON.stringify(allowed.api)).toContain('TOPSECRET-VALUE');

    const small = join(specs, 'small.yaml');
    writeFileSync(small, "openapi: 3.1.0\ninfo: { title: t, version: '1' }\npaths:\n  /big:\n    $ref: 'sub/big.yaml'\n");
    const limited = await loadSpec(small, { allow: [], maxBytes: 1024 });
    expect(lines(limited.report.diagnostics)).toEqual([
      expect.stringMatching(/:5:11 RX007 \/paths\/~1big\/\$ref .*sub\/big\.yaml is not read: it has \d+ bytes, more than specRefs\.maxBytes \(1024\)/),
    ]);
  });

  it('RX001: the spec itself must be a regular file (reading /dev/zero would never end)', async () => {
    const loaded = await loadSpec('/dev/zero');
    expect(loaded.report.diagnostics).toMatchObject([{ code: 'RX001', message: '/dev/zero is not read: it is not a regular file' }]);
  });
});
