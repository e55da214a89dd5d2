import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import SwaggerParser from '@apidevtools/swagger-parser';
import type { Diagnostic } from '../model/diagnostic.js';
import { CODES } from '../codes.js';
import { isObject, type Obj } from './doc.js';
import { keyOfUrl, SourceMap } from './locate.js';
import { reportParserFailure, reportSchemaErrors } from './openapi-errors.js';
import { confinedResolver, DEFAULT_REF_POLICY, readBounded, RefusedRef, type RefPolicy } from './ref-files.js';
import { Reporter } from './report.js';

/** One OpenAPI file, dereferenced and validated, with the map back to its sources. */
export interface LoadedSpec {
  /** The path as the caller gave it. */
  file: string;
  /** How diagnostics name it (relative to the working directory when inside it). */
  display: string;
  /** The dereferenced document; null when it could not be read at all. */
  api: Obj | null;
  sources: SourceMap;
  report: Reporter;
}

/**
 * Reads one spec with swagger-parser: `$ref`s across files, OpenAPI 3.0/3.1 schema validation.
 * Every file is parsed by our own plugin with the `yaml` package, so the locator sees exactly
 * the text the dereferencer read. `$ref`s read only what `refs` allows (see ref-files.ts).
 * Never throws: problems land in `report`.
 */
export async function loadSpec(file: string, refs: RefPolicy = DEFAULT_REF_POLICY): Promise<LoadedSpec> {
  const key = resolve(file);
  const sources = new SourceMap(key);
  const report = new Reporter(sources);
  const spec: LoadedSpec = { file, display: sources.rootDisplay, api: null, sources, report };

  let text: string;
  try {
    text = (await readBounded(key, refs.maxBytes, spec.display)).toString('utf8');
  } catch (err) {
    if (err instanceof RefusedRef) {
      report.push({ code: CODES.unreadable, severity: 'error', message: err.message, file: spec.display });
      return spec;
    }
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
    report.push({ code: CODES.unreadable, severity: 'error', message: `cannot read ${spec.display}: ${reason}`, file: spec.display });
    return spec;
  }
  const root = sources.add(key, text);
  report.push(...root.diagnostics);
  if (root.diagnostics.some((d) => d.severity === 'error')) return spec;
  if (!checkVersion(root.file.doc.toJS(), report)) return spec;

  const syntax: Diagnostic[] = [];
  const parser = new SwaggerParser();
  try {
    await parser.validate(key, parserOptions(sources, syntax, confinedResolver(key, refs)) as SwaggerParser.Options);
  } catch (err) {
    const brokenRefs = reportParserFailure(err, report, parser.api, syntax.some((d) => d.severity === 'error'));
    // A broken $ref stops swagger-parser before its schema check; run it anyway to report everything at once.
    if ((err as { name?: string }).name === 'JSONParserErrorGroup' && isObject(parser.api)) validateSchemaAnyway(parser.api, report, brokenRefs);
  }
  report.push(...syntax);
  if (isObject(parser.api)) spec.api = parser.api as Obj;
  return spec;
}

function validateSchemaAnyway(api: object, report: Reporter, brokenRefs: string[]): void {
  let validateSchema: (api: object) => void;
  try {
    // Not part of swagger-parser's typed API; if a release moves it, we only lose this extra pass.
    validateSchema = createRequire(import.meta.url)('@apidevtools/swagger-parser/lib/validators/schema.js') as (api: object) => void;
  } catch {
    return;
  }
  try {
    validateSchema(api);
  } catch (err) {
    const details = (err as { details?: unknown }).details;
    if (Array.isArray(details)) reportSchemaErrors(details, report, api, brokenRefs);
  }
}

function checkVersion(raw: unknown, report: Reporter): boolean {
  if (!isObject(raw)) {
    report.error(CODES.notOpenApi, '', 'not an OpenAPI document: expected a mapping with `openapi: 3.x.x`');
    return false;
  }
  if (raw.swagger !== undefined) {
    report.error(CODES.notOpenApi, '/swagger', 'Swagger 2.0 is not supported: reflex reads OpenAPI 3.0 and 3.1', {
      hint: 'Convert the document to OpenAPI 3 (e.g. with swagger2openapi).',
    });
    return false;
  }
  if (raw.openapi === undefined) {
    report.error(CODES.notOpenApi, '', 'not an OpenAPI document: the `openapi` version key is missing');
    return false;
  }
  if (typeof raw.openapi !== 'string' || !/^3\.[01]\.\d+$/.test(raw.openapi)) {
    report.error(CODES.notOpenApi, '/openapi', `unsupported OpenAPI version ${JSON.stringify(raw.openapi)}: reflex reads 3.0.x and 3.1.x`, {
      hint: typeof raw.openapi === 'number' ? 'Quote the version, e.g. openapi: "3.1.0".' : undefined,
    });
    return false;
  }
  return true;
}

function parserOptions(sources: SourceMap, syntax: Diagnostic[], resolver: object): object {
  const plugin = {
    name: 'reflex-yaml',
    order: 1,
    allowEmpty: false,
    canParse: true,
    parse(file: { url: string; data: unknown }): unknown {
      const text = Buffer.isBuffer(file.data) ? file.data.toString('utf8') : String(file.data);
      const parsed = sources.add(keyOfUrl(file.url), text);
      syntax.push(...parsed.diagnostics);
      if (parsed.diagnostics.some((d) => d.severity === 'error')) throw new SyntaxError(`syntax errors in ${parsed.file.display}`);
      return parsed.file.doc.toJS();
    },
  };
  return {
    // Our plugin parses YAML and JSON alike; the built-in ones would parse a second time.
    parse: { json: false, yaml: plugin, text: false, binary: false },
    // Ours replaces both built-in resolvers: files only inside the allowed folders, http only when allowed.
    resolve: { file: false, http: false, reflex: resolver },
    continueOnError: true,
    dereference: { circular: true },
  };
}
