import jsonata from 'jsonata';
import { CODES, compileJsonata, escapePointerToken, isPromise, parseRfc3339, ReflexError, type CompiledExpression, type RxCode } from '../../../src/sdk/index.js';
import { inferSqlType, type SqlType } from './column-types.js';
import { identifierProblem } from './identifiers.js';
import { jsonbText, sqlText } from './sql-values.js';

/** A typed column of a resource table, its expression compiled once when the sink is created. */
export interface TypedColumn {
  name: string;
  type: SqlType;
  source: string;
  /** The column's value for one state, as the parameter of its type (null when it has none or it does not fit). */
  value(state: unknown): unknown | Promise<unknown>;
}

/** The columns a resource table has whatever the config says. */
export const FIXED_RESOURCE_COLUMNS = ['key', 'state', 'version', 'updated_at'] as const;

/** A refused `columns:` entry, with the JSON pointer of the field inside the sink's block. */
export class ColumnConfigError extends ReflexError {
  constructor(message: string, readonly field: string, code: RxCode = CODES.connectorConfigInvalid) {
    super(code, message, { pointer: field });
  }
}

/**
 * Compiles `columns.<resource>`. A column without `type` is typed from the resource's state schema
 * when its expression is a plain path (`a.b.c`) the schema describes, else jsonb.
 */
export function compileColumns(resource: string, spec: Record<string, string | { expr: string; type?: SqlType }>, stateSchema: Record<string, unknown> | undefined): TypedColumn[] {
  return Object.entries(spec).map(([name, entry]) => {
    const field = `/columns/${escapePointerToken(resource)}/${escapePointerToken(name)}`;
    const problem = identifierProblem(name);
    if (problem) throw new ColumnConfigError(`column name '${name}' ${problem}`, field);
    if ((FIXED_RESOURCE_COLUMNS as readonly string[]).includes(name)) {
      throw new ColumnConfigError(`column '${name}' is one the resource table always has (${FIXED_RESOURCE_COLUMNS.join(', ')}); name it otherwise`, field);
    }
    const source = typeof entry === 'string' ? entry : entry.expr;
    let compiled: CompiledExpression;
    try {
      compiled = compileJsonata(source);
    } catch (err) {
      const e = err as { message?: string; offset?: number };
      throw new ColumnConfigError(`column '${name}': JSONata error at character ${e.offset ?? '?'}: ${e.message ?? String(err)}`, typeof entry === 'string' ? field : `${field}/expr`);
    }
    // Typing needs the shape of the expression: only a plain path names a place in the schema.
    const path = plainPath(jsonata(source).ast());
    const type = (typeof entry === 'string' ? undefined : entry.type) ?? (path ? inferSqlType(stateSchema, path) : null) ?? 'jsonb';
    const toParam = PARAM[type];
    return {
      name, type, source,
      value(state: unknown) {
        let v: unknown;
        try {
          v = compiled.evaluate(state);
        } catch {
          return null; // a state the expression cannot read (a type error): the column stays NULL, the state keeps it all
        }
        return isPromise(v) ? v.then(toParam, () => null) : toParam(v);
      },
    };
  });
}

/** The property names of an expression that is only `a.b.c` (names, nothing else), else null. */
export function plainPath(ast: unknown): string[] | null {
  const node = ast as { type?: string; steps?: Array<Record<string, unknown>> };
  if (node.type !== 'path' || !Array.isArray(node.steps)) return null;
  const names: string[] = [];
  for (const step of node.steps) {
    if (step.type !== 'name' || typeof step.value !== 'string') return null;
    if (Object.keys(step).some((k) => k !== 'type' && k !== 'value' && k !== 'position')) return null;
    names.push(step.value);
  }
  return names;
}

const INT8 = /^-?\d{1,19}$/;
const NUMERIC = /^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

/**
 * A value as the parameter of its column's type. One that does not fit (text in a bigint column, an
 * unparsable date) is stored as NULL rather than failing the whole batch: the state column keeps it.
 */
const PARAM: Record<SqlType, (v: unknown) => unknown> = {
  text: (v) => (v === undefined || v === null ? null : sqlText(typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v))),
  bigint: (v) => (typeof v === 'number' && Number.isSafeInteger(v) ? v : typeof v === 'string' && INT8.test(v) && fitsInt8(v) ? v : null),
  numeric: (v) => (typeof v === 'number' && Number.isFinite(v) ? String(v) : typeof v === 'string' && NUMERIC.test(v) ? v : null),
  'double precision': (v) => (typeof v === 'number' && Number.isFinite(v) ? v : null),
  boolean: (v) => (typeof v === 'boolean' ? v : null),
  timestamptz: (v) => (typeof v === 'string' && parseRfc3339(v) !== null ? v : null),
  jsonb: (v) => jsonbText(v),
};

function fitsInt8(s: string): boolean {
  const n = BigInt(s);
  return n >= -(2n ** 63n) && n < 2n ** 63n;
}
