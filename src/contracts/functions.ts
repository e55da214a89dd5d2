/**
 * Result types of jsonata's built-in functions, for schema inference. Functions that take or
 * return functions ($map, $reduce, $sift ...), and those whose result depends on data the spec
 * does not describe ($lookup, $eval), are not here: a call to them is beyond inference.
 */
import { ANY, arrayOf, BOOLEAN, INTEGER, NUMBER, STRING, union, alternatives, type T, type Typed } from './types.js';

/** `args` are the typed arguments; the context item stands in for an omitted first one, as jsonata does. */
type Signature = (args: Typed[]) => Typed;

const firstDefined = (args: Typed[]): boolean => args[0]?.optional ?? true;

/** A function of its first argument: no value when that has none. */
const of = (t: T): Signature => (args) => ({ t, optional: firstDefined(args) });
const always = (t: T): Signature => () => ({ t, optional: false });

/** Element types of an argument that may be a single value or an array of them. */
function elements(arg: Typed | undefined): T {
  if (!arg) return union([]);
  return union(alternatives(arg.t).map((a) => (a.k === 'array' ? a.items : a)));
}

const sameArray: Signature = (args) => ({ t: arrayOf(elements(args[0])), optional: firstDefined(args) });

export const FUNCTION_TYPES: Readonly<Record<string, Signature>> = {
  string: of(STRING),
  substring: of(STRING),
  substringBefore: of(STRING),
  substringAfter: of(STRING),
  uppercase: of(STRING),
  lowercase: of(STRING),
  trim: of(STRING),
  pad: of(STRING),
  join: of(STRING),
  replace: of(STRING),
  base64encode: of(STRING),
  base64decode: of(STRING),
  encodeUrl: of(STRING),
  encodeUrlComponent: of(STRING),
  decodeUrl: of(STRING),
  decodeUrlComponent: of(STRING),
  formatNumber: of(STRING),
  formatBase: of(STRING),
  formatInteger: of(STRING),
  fromMillis: of(STRING),
  type: of(STRING),
  now: always(STRING),
  number: of(NUMBER),
  abs: of(NUMBER),
  floor: of(INTEGER),
  ceil: of(INTEGER),
  round: of(NUMBER),
  power: of(NUMBER),
  sqrt: of(NUMBER),
  sum: of(NUMBER),
  max: of(NUMBER),
  min: of(NUMBER),
  average: of(NUMBER),
  length: of(INTEGER),
  toMillis: of(INTEGER),
  millis: always(INTEGER),
  random: always(NUMBER),
  count: always(INTEGER),
  exists: always(BOOLEAN),
  boolean: of(BOOLEAN),
  not: of(BOOLEAN),
  contains: of(BOOLEAN),
  split: of(arrayOf(STRING)),
  keys: of(arrayOf(STRING)),
  distinct: sameArray,
  reverse: sameArray,
  sort: sameArray,
  shuffle: sameArray,
  append: (args) => ({ t: arrayOf(union([elements(args[0]), elements(args[1])])), optional: (args[0]?.optional ?? true) && (args[1]?.optional ?? true) }),
  merge: (args) => ({ t: { k: 'object', props: new Map(), additional: ANY }, optional: firstDefined(args) }),
};
