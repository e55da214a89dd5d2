/**
 * Synchronous copies of the jsonata 2.x helpers the fast path needs. They are kept line for
 * line with jsonata's own (utils.js, functions.js), including the flags it hangs on arrays
 * (`sequence`, `keepSingleton`, `cons`, `outerWrapper`, `tupleStream`), because its results
 * depend on them in ways that are easy to get subtly wrong when "simplified".
 */
import { ReflexError } from '../../errors.js';

/** A jsonata sequence: an array plus the flags jsonata's evaluator reads and writes. */
export type Seq = unknown[] & {
  sequence?: boolean;
  keepSingleton?: boolean;
  cons?: boolean;
  outerWrapper?: boolean;
  tupleStream?: boolean;
};

/** Flag lookups on arbitrary values, as jsonata does them (on objects from the input too). */
export type Flagged = {
  sequence?: unknown;
  keepSingleton?: unknown;
  cons?: unknown;
  outerWrapper?: unknown;
  tupleStream?: unknown;
  _jsonata_function?: unknown;
  _jsonata_lambda?: unknown;
};

/**
 * Thrown when a value reaches a branch the fast path does not reproduce (tuple streams);
 * the caller then evaluates the same input with jsonata itself.
 */
export const BAIL: unique symbol = Symbol('jsonata-fast-path-bail');

const hasOwn = Object.prototype.hasOwnProperty;

export function createSequence(...items: unknown[]): Seq {
  const sequence: Seq = [];
  sequence.sequence = true;
  if (items.length === 1) sequence.push(items[0]);
  return sequence;
}

export function isSequence(value: unknown): value is Seq {
  return (value as Flagged).sequence === true && Array.isArray(value);
}

export function isNumeric(n: unknown): n is number {
  let isNum = false;
  if (typeof n === 'number') {
    isNum = !isNaN(n);
    if (isNum && !isFinite(n)) throw evalError('D1001', { value: n });
  }
  return isNum;
}

export function isArrayOfNumbers(arg: unknown): arg is number[] {
  return Array.isArray(arg) && arg.filter((item) => !isNumeric(item)).length === 0;
}

/** jsonata treats objects carrying its internal function markers as functions. */
export function isFunction(arg: unknown): boolean {
  const a = arg as Flagged | null | undefined;
  return Boolean(a && (a._jsonata_function === true || a._jsonata_lambda === true)) || typeof arg === 'function';
}

/** fn.lookup: a field of an object, mapped (and flattened one level) over arrays. */
export function lookup(input: unknown, key: string): unknown {
  if (Array.isArray(input)) {
    const result = createSequence();
    for (let ii = 0; ii < input.length; ii++) {
      const res = lookup(input[ii], key);
      if (res !== undefined) {
        if (Array.isArray(res)) res.forEach((val) => result.push(val));
        else result.push(res);
      }
    }
    return result;
  }
  if (input !== null && typeof input === 'object' && hasOwn.call(input, key) && !isFunction(input)) {
    return (input as Record<string, unknown>)[key];
  }
  return undefined;
}

/** fn.append, for the array and object constructors. */
export function append(arg1: unknown, arg2: unknown): unknown {
  if (arg1 === undefined) return arg2;
  if (arg2 === undefined) return arg1;
  const a1 = Array.isArray(arg1) ? arg1 : createSequence(arg1);
  const a2 = Array.isArray(arg2) ? arg2 : [arg2];
  return a1.concat(a2);
}

/** fn.boolean: jsonata's effective boolean value; undefined stays undefined. */
export function toBoolean(arg: unknown): boolean | undefined {
  if (arg === undefined) return undefined;
  let result = false;
  if (Array.isArray(arg)) {
    if (arg.length === 1) {
      result = toBoolean(arg[0]) as boolean;
    } else if (arg.length > 1) {
      result = arg.filter((val) => toBoolean(val)).length > 0;
    }
  } else if (typeof arg === 'string') {
    if (arg.length > 0) result = true;
  } else if (isNumeric(arg)) {
    if (arg !== 0) result = true;
  } else if (arg !== null && typeof arg === 'object' && !isFunction(arg)) {
    if (Object.keys(arg).length > 0) result = true;
  } else if (typeof arg === 'boolean' && arg === true) {
    result = true;
  }
  return result;
}

function stringifyReplacer(_key: string, val: unknown): unknown {
  if (val !== undefined && val !== null && isNumeric(val)) {
    return !Number.isInteger(val) ? Number(val.toPrecision(15)) : val;
  }
  return val && isFunction(val) ? '' : val;
}

/** fn.string without prettify: how `&` casts its operands. */
export function toJsonataString(arg: unknown): string | undefined {
  if (arg === undefined) return undefined;
  if (typeof arg === 'string') return arg;
  if (isFunction(arg)) return '';
  if (typeof arg === 'number') {
    if (!isFinite(arg)) throw evalError('D3001', { value: arg });
    // What the JSON.stringify+replacer route below gives for a finite number, minus its cost.
    return Number.isInteger(arg) ? String(arg) : String(Number(arg.toPrecision(15)));
  }
  let value = arg;
  if (Array.isArray(value) && (value as Seq).outerWrapper) value = value[0];
  return JSON.stringify(value, stringifyReplacer) as string | undefined;
}

/** utils.isDeepEqual, for `=` and `!=`. */
export function isDeepEqual(lhs: unknown, rhs: unknown): boolean {
  if (lhs === rhs) return true;
  if (typeof lhs === 'object' && typeof rhs === 'object' && lhs !== null && rhs !== null) {
    if (Array.isArray(lhs) && Array.isArray(rhs)) {
      if (lhs.length !== rhs.length) return false;
      for (let ii = 0; ii < lhs.length; ii++) {
        if (!isDeepEqual(lhs[ii], rhs[ii])) return false;
      }
      return true;
    }
    const lkeys = Object.getOwnPropertyNames(lhs).sort();
    const rkeys = Object.getOwnPropertyNames(rhs).sort();
    if (lkeys.length !== rkeys.length) return false;
    for (let ii = 0; ii < lkeys.length; ii++) {
      if (lkeys[ii] !== rkeys[ii]) return false;
    }
    for (const key of lkeys) {
      if (!isDeepEqual((lhs as Record<string, unknown>)[key], (rhs as Record<string, unknown>)[key])) return false;
    }
    return true;
  }
  return false;
}

const MESSAGES: Record<string, string> = {
  D1001: 'Number out of range: {{value}}',
  D1002: 'Cannot negate a non-numeric value: {{value}}',
  D1009: 'Multiple key definitions evaluate to same key: {{value}}',
  D1013: 'Object property names starting with _jsonata_ are reserved for internal use: {{value}}',
  D3001: 'Attempting to invoke string function on Infinity or NaN',
  T1003: 'Key in object structure must evaluate to a string; got: {{value}}',
  T2001: 'The left side of the {{token}} operator must evaluate to a number',
  T2002: 'The right side of the {{token}} operator must evaluate to a number',
  T2009: 'The values {{value}} and {{value2}} either side of operator {{token}} must be of the same data type',
  T2010: 'The expressions either side of operator {{token}} must evaluate to numeric or string values',
};

interface ErrorDetails {
  value?: unknown;
  value2?: unknown;
  token?: string;
  position?: number;
}

/** A runtime error carrying jsonata's code (T2001 ...), fields and message text. */
export class JsonataEvalError extends ReflexError {
  value?: unknown;
  value2?: unknown;
  token?: string;
  position?: number;

  constructor(code: string, details: ErrorDetails) {
    super(code, '');
    this.locate(details);
  }

  /** jsonata adds the operator's position and token as the error passes the operator. */
  locate(details: ErrorDetails): this {
    Object.assign(this, details);
    const fields = this as unknown as Record<string, unknown>;
    this.message = (MESSAGES[this.code] ?? this.code).replace(/\{\{([^}]+)}}/g, (_m, f: string) =>
      String(JSON.stringify(fields[f])),
    );
    return this;
  }
}

export function evalError(code: string, details: ErrorDetails): JsonataEvalError {
  return new JsonataEvalError(code, details);
}
