import { Ajv, type ErrorObject } from 'ajv';
import { dirname, resolve } from 'node:path';
import { CODES } from '../codes.js';
import { DiagnosticError, type Diagnostic } from '../model/diagnostic.js';
import type { Registry } from '../registry.js';
import { addFilePathKeyword, type PathContext } from './file-paths.js';
import type { ConnectorBlock } from './types.js';

const ajv = addFilePathKeyword(new Ajv({ allErrors: true, useDefaults: true, strict: false, passContext: true }));
const validators = new WeakMap<object, ReturnType<Ajv['compile']>>();

/**
 * Checks one `sources:`/`sinks:` block against its connector's own schema (the connector declares
 * it; the registry only routes). Errors name the config file, line and field.
 */
export function validateConnectorBlock(
  kind: 'source' | 'sink' | 'cluster',
  block: ConnectorBlock,
  connector: { configSchema: Record<string, unknown>; takesFormat?: boolean } | undefined,
  registry: Registry,
): Record<string, unknown> {
  const loc = block.__location;
  const at = (pointer: string, message: string): Diagnostic => ({
    code: CODES.connectorConfigInvalid,
    severity: 'error',
    message,
    ...(loc ? { file: loc.file, pointer: loc.pointer + pointer } : { pointer }),
    ...(loc?.line !== undefined ? { line: loc.line, column: loc.column ?? 1 } : {}),
  });
  if (!connector) {
    const known = [...(kind === 'source' ? registry.sources.keys() : kind === 'sink' ? registry.sinks.keys() : registry.clusters.keys())].join(', ');
    throw new DiagnosticError([at('/type', `unknown ${kind} type '${block.type}' (known: ${known})`)]);
  }
  const { type: _type, __location: _loc, ...settings } = block;
  let validate = validators.get(connector.configSchema);
  if (!validate) {
    validate = ajv.compile(connector.configSchema);
    validators.set(connector.configSchema, validate);
  }
  const context: PathContext = { baseDir: loc ? dirname(resolve(loc.file)) : null };
  if (!validate.call(context, settings)) {
    throw new DiagnosticError((validate.errors ?? []).map((e: ErrorObject) => at(e.instancePath, `${kind} '${block.type}': ${describeAjvError(e)}`)));
  }
  // The host resolves `format:` once for every source that reads one; a typo is a config error, not a crash at start.
  if (connector.takesFormat && !registry.formats.has(settings.format as string)) {
    const known = [...registry.formats.keys()].join(', ');
    throw new DiagnosticError([at('/format', `${kind} '${block.type}': unknown format '${String(settings.format)}' (known: ${known})`)]);
  }
  return settings;
}

export function describeAjvError(e: ErrorObject): string {
  const where = e.instancePath ? `${e.instancePath.slice(1).replace(/\//g, '.')} ` : '';
  if (e.keyword === 'additionalProperties') return `${where}has unknown key '${(e.params as { additionalProperty: string }).additionalProperty}'`;
  if (e.keyword === 'enum') return `${where}must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
  return `${where}${e.message ?? 'is invalid'}`;
}
