import { toPointer } from '../model/json-pointer.js';
import { validateAnnotations } from './annotation-schema.js';
import { checkAnnotationKeys } from './annotation-keys.js';
import { CODES } from '../codes.js';
import { compileOperation, type SpecContext } from './compile-operation.js';
import { HTTP_METHODS, isObject, type Obj } from './doc.js';
import type { LoadedSpec } from './load.js';
import { readResources, resolveResourceRef } from './resources.js';
import { basePaths, defaultSource } from './servers.js';
import { specStreams, type DeclaredStream } from './streams.js';
import type { CompiledOperation, PathMatchMode, RedactPath } from './types.js';
import { checkPathAmbiguity } from './path-ambiguity.js';
import { resourceStateSchemas } from './state-schema.js';
import { specContracts, type Contracts } from '../contracts/contracts.js';

export interface CompiledSpec {
  spec: LoadedSpec;
  operations: Array<{ operation: CompiledOperation; basePaths: string[]; match: PathMatchMode }>;
  streams: DeclaredStream[];
  redact: RedactPath[];
  contracts: Contracts;
}

/** Checks and compiles the annotations of one loaded spec file; problems go to its reporter. */
export function compileSpec(spec: LoadedSpec): CompiledSpec {
  const api = spec.api ?? {};
  const { report } = spec;
  validateAnnotations(api, report);
  checkAnnotationKeys(api, report);

  const root: Obj = isObject(api['x-reflex']) ? api['x-reflex'] : {};
  const resources = readResources(root, report);
  const ctx: SpecContext = {
    specFile: spec.display,
    source: typeof root.source === 'string' && root.source !== '' ? root.source : defaultSource(api),
    typePrefix: typeof root.typePrefix === 'string' && root.typePrefix !== '' ? root.typePrefix : undefined,
    resources,
    report,
  };

  const match: PathMatchMode = root.match === 'client' || root.match === 'upstream' ? root.match : 'auto';
  const operations: CompiledSpec['operations'] = [];
  if (isObject(api.paths)) {
    for (const [path, pathItem] of Object.entries(api.paths)) {
      if (!path.startsWith('/') || !isObject(pathItem)) continue;
      // Resolved once per path item, even when every operation overrides it: its mistakes still count.
      const pathResource = resolveResourceRef(pathItem['x-reflex-resource'], toPointer(['paths', path, 'x-reflex-resource']), resources, report)?.ref ?? null;
      for (const method of HTTP_METHODS) {
        const op = pathItem[method];
        if (!isObject(op)) continue;
        operations.push({ operation: compileOperation(ctx, path, method, pathItem, op, pathResource), basePaths: basePaths(api, pathItem, op), match });
      }
    }
  }

  if (match === 'auto') checkPathAmbiguity(operations, report);

  for (const r of resources.values()) {
    if (!r.used) {
      report.warn(CODES.unusedResource, r.pointer, `resource '${r.name}' is not used by any path`, {
        key: true,
        hint: `Refer to it with x-reflex-resource: ${r.name} on a path item or operation.`,
      });
    }
  }

  const compiled = operations.map((o) => o.operation);
  const streams = specStreams(spec.display, compiled, resources, report);
  const stateSchemas = resourceStateSchemas(api, compiled);
  for (const { info } of streams) {
    const schema = info.kind === 'changelog' && info.resource ? stateSchemas.get(info.resource) : undefined;
    if (schema) info.stateSchema = schema;
  }
  return { spec, operations, streams, redact: redactPaths(root.redact), contracts: specContracts(spec.display, api, compiled, report) };
}

/** Header names are lower case in the Exchange, so `request.headers.Authorization` means the same header. */
function redactPaths(value: unknown): RedactPath[] {
  if (!Array.isArray(value)) return [];
  const out: RedactPath[] = [];
  for (const p of value) {
    if (typeof p !== 'string' || !/^(request|response)\.[^.\s]+(\.[^.\s]+)*$/.test(p)) continue;
    const parts = p.split('.');
    if (parts[1] === 'headers' && parts[2] !== undefined) parts[2] = parts[2].toLowerCase();
    out.push(parts);
  }
  return out;
}
