import { describe, expect, it } from 'vitest';
import { DiagnosticError } from '../../src/model/diagnostic.js';
import { loadSpecSet } from '../../src/spec/compile.js';
import { loadSpec } from '../../src/spec/load.js';
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
