import { toPointer } from '../model/json-pointer.js';
import type { CompiledExpression } from '../rules/expression.js';
import { CODES } from '../codes.js';
import { isObject, type Obj } from './doc.js';
import { compileJsonataAt } from './expressions.js';
import type { Reporter } from './report.js';
import { didYouMean } from './suggest.js';
import type { CompiledResourceRef } from './types.js';

export interface ResourceDecl {
  name: string;
  cdc: boolean;
  /** null when the key did not compile (already reported). */
  key: CompiledExpression | null;
  pointer: string;
  used: boolean;
}

/** Stands in for an expression that failed to compile; the spec set is rejected before it can run. */
export const BROKEN: CompiledExpression = {
  language: 'jsonata',
  source: '',
  evaluate: () => {
    throw new Error('expression failed to compile');
  },
};

export function readResources(root: Obj, report: Reporter): Map<string, ResourceDecl> {
  const out = new Map<string, ResourceDecl>();
  if (!isObject(root.resources)) return out;
  for (const [name, decl] of Object.entries(root.resources)) {
    const pointer = toPointer(['x-reflex', 'resources', name]);
    const d = isObject(decl) ? decl : {};
    const key = typeof d.key === 'string' && d.key !== '' ? compileJsonataAt(d.key, `${pointer}/key`, `x-reflex.resources.${name}.key`, report) : null;
    out.set(name, { name, cdc: d.cdc === true, key, pointer, used: false });
  }
  return out;
}

/**
 * Resolves an `x-reflex-resource` value (a name, or {name, key}) at `pointer`. Returns null when
 * there is none or it is wrong (reported here or by the schema check).
 */
export function resolveResourceRef(
  value: unknown,
  pointer: string,
  resources: Map<string, ResourceDecl>,
  report: Reporter,
): { ref: CompiledResourceRef; decl: ResourceDecl } | null {
  const name = typeof value === 'string' ? value : isObject(value) && typeof value.name === 'string' ? value.name : undefined;
  if (name === undefined || name === '') return null;
  const namePointer = typeof value === 'string' ? pointer : `${pointer}/name`;
  const decl = resources.get(name);
  if (!decl) {
    const declared = [...resources.keys()];
    report.error(CODES.unknownResource, namePointer, `unknown resource '${name}'`, {
      hint:
        didYouMean(name, declared) ??
        (declared.length ? `Declared resources: ${declared.join(', ')}.` : `Declare it under x-reflex.resources.${name} with a key.`),
    });
    return null;
  }
  decl.used = true;
  let key = decl.key;
  if (isObject(value) && typeof value.key === 'string' && value.key !== '') {
    key = compileJsonataAt(value.key, `${pointer}/key`, 'x-reflex-resource.key', report);
  }
  return { ref: { name, key: key ?? BROKEN, cdc: decl.cdc }, decl };
}
