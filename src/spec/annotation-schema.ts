import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { parsePointer } from '../model/json-pointer.js';
import { CODES } from '../codes.js';
import { describeValue, typeName, valueAt } from './doc.js';
import { article } from './openapi-errors.js';
import type { Reporter } from './report.js';
import { didYouMean, listOf } from './suggest.js';

// ajv-formats is CommonJS with `module.exports = plugin`; under NodeNext the default import is that object.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

let validator: ValidateFunction | undefined;

/** specs/ sits at the package root: two levels up from src/spec, three from dist/src/spec. */
function schemaPath(): string {
  for (const rel of ['../../specs/reflex-annotations.schema.json', '../../../specs/reflex-annotations.schema.json']) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(p)) return p;
  }
  throw new Error('specs/reflex-annotations.schema.json not found next to the reflex sources');
}

function getValidator(): ValidateFunction {
  if (!validator) {
    const ajv = new Ajv2020({ allErrors: true, verbose: true, strict: true, strictTypes: false, allowUnionTypes: true });
    addFormats(ajv, ['uri-reference']);
    // Our own message for a rule (also shown by editors that read `errorMessage`).
    ajv.addKeyword({ keyword: 'errorMessage', schemaType: 'string' });
    validator = ajv.compile(JSON.parse(readFileSync(schemaPath(), 'utf8')) as object);
  }
  return validator;
}

/** Checks every x-reflex annotation of the dereferenced document against the annotation schema. */
export function validateAnnotations(api: unknown, report: Reporter): void {
  const validate = getValidator();
  if (validate(api)) return;
  for (const e of validate.errors ?? []) reportError(e, api, report);
}

function reportError(e: ErrorObject, api: unknown, report: Reporter): void {
  const schema = (e.parentSchema ?? {}) as { errorMessage?: string; properties?: Record<string, unknown> };
  const value = valueAt(api, e.instancePath);
  const label = labelOf(e.instancePath);
  // propertyNames repeats what the error on the name itself says.
  if (e.keyword === 'propertyNames') return;
  if (e.propertyName !== undefined) {
    // The key itself is wrong (e.g. a resource name with a space).
    const pointer = `${e.instancePath}/${escapeToken(e.propertyName)}`;
    report.error(CODES.badValue, pointer, `invalid name '${e.propertyName}' in ${label}: ${schema.errorMessage ?? e.message ?? 'not allowed'}`, { key: true });
    return;
  }
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String(e.params.additionalProperty);
      const allowed = Object.keys(schema.properties ?? {});
      report.error(CODES.unknownKey, `${e.instancePath}/${escapeToken(key)}`, `unknown key '${key}' in ${label}`, {
        key: true,
        hint: didYouMean(key, allowed) ?? `Allowed keys: ${listOf(allowed)}.`,
      });
      return;
    }
    case 'required':
      report.error(CODES.missingKey, e.instancePath, `${label} is missing the required key '${String(e.params.missingProperty)}'`);
      return;
    case 'type': {
      const expected = String(e.params.type);
      const what = expected === 'string,object' ? 'a resource name or {name, key}' : article(expected);
      report.error(CODES.wrongType, e.instancePath, `${label} must be ${what}, not ${article(typeName(value))}`);
      return;
    }
    case 'enum': {
      const allowed = (e.params.allowedValues as unknown[]).map(String);
      report.error(CODES.badValue, e.instancePath, `${label} must be one of ${listOf(allowed)}, not ${describeValue(value)}`, {
        hint: typeof value === 'string' ? didYouMean(value, allowed) : undefined,
      });
      return;
    }
    case 'minLength':
      report.error(CODES.badValue, e.instancePath, `${label} must not be empty`);
      return;
    case 'uniqueItems':
      report.error(CODES.badValue, `${e.instancePath}/${String(e.params.i)}`, `${label} lists ${describeValue((value as unknown[])[e.params.i as number])} twice`);
      return;
    default:
      report.error(CODES.badValue, e.instancePath, `${label} ${schema.errorMessage ?? e.message ?? 'is invalid'}, not ${describeValue(value)}`);
  }
}

function escapeToken(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

/**
 * Names a value the way a reader finds it in the file: from the annotation key on,
 * e.g. `x-reflex-events[0].when` or `x-reflex.resources.orders`.
 */
export function labelOf(pointer: string): string {
  const tokens = parsePointer(pointer);
  let start = -1;
  for (let i = tokens.length - 1; i >= 0; i--) {
    if (tokens[i]!.startsWith('x-reflex')) {
      start = i;
      break;
    }
  }
  if (start < 0) return pointer || 'the document';
  let label = tokens[start]!;
  for (const t of tokens.slice(start + 1)) label += /^\d+$/.test(t) ? `[${t}]` : `.${t}`;
  return label;
}
