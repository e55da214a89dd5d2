import { toPointer } from '../model/json-pointer.js';
import { CODES } from '../codes.js';
import { describeValue, typeName, valueAt } from './doc.js';
import { displayPath, keyOfUrl } from './locate.js';
import type { Reporter } from './report.js';
import { didYouMean, listOf } from './suggest.js';

/** The parts of a swagger-parser / json-schema-ref-parser error we read. */
interface ParserFailure {
  name?: string;
  code?: string;
  message?: string;
  path?: Array<string | number> | null;
  source?: string;
  ioErrorCode?: string;
  targetToken?: unknown;
  details?: AjvError[];
  errors?: ParserFailure[];
}

interface AjvError {
  instancePath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
}

/**
 * Turns what swagger-parser threw into diagnostics. Syntax errors of parsed files were already
 * reported by the parser plugin (with positions), so their generic wrappers are skipped.
 */
export function reportParserFailure(err: unknown, report: Reporter, api: unknown, syntaxReported: boolean): string[] {
  const e = err as ParserFailure;
  const list = e.name === 'JSONParserErrorGroup' && Array.isArray(e.errors) ? e.errors : [e];
  for (const one of list) reportOne(one, report, api, syntaxReported);
  // Where a $ref failed, the dereferenced document holds null: the caller should not blame that spot again.
  return list.filter((one) => Array.isArray(one.path)).map((one) => toPointer(one.path!));
}

function reportOne(e: ParserFailure, report: Reporter, api: unknown, syntaxReported: boolean): void {
  const message = e.message ?? String(e);
  if (Array.isArray(e.details)) {
    reportSchemaErrors(e.details, report, api);
    return;
  }
  if (e.code === 'EPARSER' || e.code === 'EUNMATCHEDPARSER') {
    if (!syntaxReported) report.error(CODES.syntax, refPointer(e), `cannot parse ${e.source ? displayPath(keyOfUrl(e.source)) : 'a referenced file'}: ${firstLine(message)}`);
    return;
  }
  if (e.code === 'ERESOLVER' || e.code === 'EUNMATCHEDRESOLVER' || e.code === 'EMISSINGPOINTER' || e.code === 'EINVALIDPOINTER') {
    const pointer = refPointer(e);
    const ref = report.sources.rawValue(pointer);
    const shown = typeof ref === 'string' ? `$ref '${ref}'` : '$ref';
    let reason = firstLine(message);
    if (e.code === 'ERESOLVER' && e.ioErrorCode === 'ENOENT') reason = `${targetFile(message) ?? 'the file'} does not exist`;
    if (e.code === 'EMISSINGPOINTER') reason = `'${String(e.targetToken ?? tokenOf(message))}' does not exist in ${e.source ? displayPath(keyOfUrl(e.source)) : 'the target'}`;
    report.error(e.ioErrorCode === CODES.refusedRef ? CODES.refusedRef : CODES.badRef, pointer, `cannot resolve ${shown}: ${reason}`);
    return;
  }
  if (/Unsupported OpenAPI version|Swagger version|version number must be a string/i.test(message)) {
    report.error(CODES.notOpenApi, '/openapi', firstLine(message));
    return;
  }
  if (/is not a valid Openapi API definition/i.test(message)) {
    report.error(CODES.openApiSchema, '', "missing required key 'paths'");
    return;
  }
  report.error(CODES.parserFailed, '', `cannot load the OpenAPI document: ${firstLine(message)}`);
}

/** Where the failing `$ref` is written: the dereferencer reports the path of the object holding it. */
function refPointer(e: ParserFailure): string {
  return Array.isArray(e.path) ? toPointer([...e.path, '$ref']) : '';
}

function firstLine(s: string): string {
  return s.split('\n')[0]!.trim();
}

function targetFile(message: string): string | undefined {
  const m = /Error opening file (.+?): ENOENT/.exec(message);
  return m ? displayPath(m[1]!) : undefined;
}

function tokenOf(message: string): string {
  return /Token "([^"]*)"/.exec(message)?.[1] ?? '?';
}

/**
 * OpenAPI's own schema is full of `oneOf: [Reference, X]`, so ajv reports every failure a few
 * times over. Keep the errors that say what to change: drop "must have $ref", and drop
 * oneOf/anyOf/if summaries where a more precise error explains the same spot.
 */
export function reportSchemaErrors(errors: AjvError[], report: Reporter, api: unknown, brokenRefs: readonly string[] = []): void {
  const useful = errors.filter(
    (e) =>
      !(e.keyword === 'required' && e.params.missingProperty === '$ref') &&
      !brokenRefs.some((p) => e.instancePath === p || e.instancePath.startsWith(p + '/')),
  );
  const precise = useful.filter((e) => !['oneOf', 'anyOf', 'if', 'not', 'false schema'].includes(e.keyword));
  const seen = new Set<string>();
  for (const e of useful) {
    const summary = !precise.includes(e);
    const within = (p: string): boolean => p === e.instancePath || p.startsWith(e.instancePath + '/');
    if (summary && (precise.some((p) => within(p.instancePath)) || brokenRefs.some(within))) continue;
    const text = schemaMessage(e, api, missingAt(useful, e.instancePath));
    const id = `${e.instancePath}\n${text.message}`;
    if (seen.has(id)) continue;
    seen.add(id);
    const unknownKey = e.keyword === 'additionalProperties' || e.keyword === 'unevaluatedProperties';
    const pointer = unknownKey ? `${e.instancePath}/${escape(String(e.params.additionalProperty ?? e.params.unevaluatedProperty))}` : e.instancePath;
    report.error(CODES.openApiSchema, pointer, text.message, { hint: text.hint, key: unknownKey });
  }
}

/** Required keys missing from the same object: the likely intent behind a misspelt key there. */
function missingAt(errors: AjvError[], instancePath: string): string[] {
  return errors.filter((e) => e.keyword === 'required' && e.instancePath === instancePath).map((e) => String(e.params.missingProperty));
}

function escape(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

function schemaMessage(e: AjvError, api: unknown, missing: string[]): { message: string; hint?: string } {
  const value = valueAt(api, e.instancePath);
  const tokens = e.instancePath.split('/').slice(1).map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
  const name = tokens[tokens.length - 1];
  // Array items read better with their array: parameters[1] rather than '1'.
  const inArray = Array.isArray(valueAt(api, e.instancePath.slice(0, e.instancePath.lastIndexOf('/'))));
  const subject = name === undefined ? 'the document' : inArray && tokens.length > 1 ? `${tokens[tokens.length - 2]}[${name}]` : `'${name}'`;
  switch (e.keyword) {
    case 'required':
      return { message: name ? `${subject} is missing the required key '${String(e.params.missingProperty)}'` : `missing the required key '${String(e.params.missingProperty)}'` };
    case 'additionalProperties':
    case 'unevaluatedProperties': {
      const key = String(e.params.additionalProperty ?? e.params.unevaluatedProperty);
      const hint = didYouMean(key, missing);
      return { message: `unknown key '${key}' (not allowed here by OpenAPI)`, ...(hint ? { hint } : {}) };
    }
    case 'enum': {
      const allowed = (e.params.allowedValues as unknown[]).map(String);
      const hint = typeof value === 'string' ? didYouMean(value, allowed) : undefined;
      return { message: `${subject} must be one of ${listOf(allowed)}, not ${describeValue(value)}`, ...(hint ? { hint } : {}) };
    }
    case 'type':
      return { message: `${subject} must be ${article(String(e.params.type))}, not ${article(typeName(value))}` };
    case 'oneOf':
    case 'anyOf':
      return { message: `${subject} is not a valid OpenAPI object here` };
    default:
      return { message: `${subject} ${e.message ?? 'is invalid'}` };
  }
}

export function article(type: string): string {
  if (type.includes(',')) return `one of ${type.split(',').join(', ')}`;
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}
