/** Runs an expression through jsonata and through compileJsonata, and compares what comes out. */
import jsonata from 'jsonata';
import type { CompiledExpression } from '../../src/rules/expression.js';

export type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

export async function outcome(run: () => unknown): Promise<Outcome> {
  try {
    return { ok: true, value: await run() };
  } catch (error) {
    return { ok: false, error };
  }
}

/** Evaluates on separate parses of the same JSON text: jsonata may mutate its input. */
export async function bothWays(source: string, compiled: CompiledExpression, text: string): Promise<[Outcome, Outcome]> {
  const reference = jsonata(source);
  const expected = await outcome(() => reference.evaluate(JSON.parse(text)));
  const actual = await outcome(() => compiled.evaluate(JSON.parse(text)));
  return [expected, actual];
}

/** The flags jsonata hangs on arrays; the fast path must produce the same ones. */
const ARRAY_FLAGS = ['sequence', 'keepSingleton', 'cons', 'outerWrapper', 'tupleStream'] as const;

/**
 * Strict structural difference, or null when equal: same types, same own keys in the same
 * order (undefined-valued keys count), same prototypes, same array flags, Object.is numbers.
 */
export function difference(expected: unknown, actual: unknown, at = '$'): string | null {
  if (typeof expected !== typeof actual) return `${at}: ${typeof expected} vs ${typeof actual}`;
  if (typeof expected === 'function') return null; // e.g. a regex or lambda from jsonata itself
  if (expected === null || actual === null || typeof expected !== 'object') {
    return Object.is(expected, actual) ? null : `${at}: ${String(expected)} vs ${String(actual)}`;
  }
  const e = expected as Record<string, unknown>;
  const a = actual as Record<string, unknown>;
  if (Array.isArray(e) !== Array.isArray(a)) return `${at}: array vs non-array`;
  if (Object.getPrototypeOf(e) !== Object.getPrototypeOf(a)) return `${at}: prototypes differ`;
  if (Array.isArray(e) && Array.isArray(a)) {
    for (const flag of ARRAY_FLAGS) {
      if (Boolean(e[flag as never]) !== Boolean(a[flag as never])) return `${at}: flag ${flag} differs`;
    }
    if (e.length !== a.length) return `${at}: length ${e.length} vs ${a.length}`;
    for (let i = 0; i < e.length; i++) {
      const d = difference(e[i], a[i], `${at}[${i}]`);
      if (d) return d;
    }
    return null;
  }
  const ek = Object.keys(e);
  const ak = Object.keys(a);
  if (ek.join('\u0000') !== ak.join('\u0000')) return `${at}: keys [${ek.join()}] vs [${ak.join()}]`;
  for (const k of ek) {
    const d = difference(e[k], a[k], `${at}.${k}`);
    if (d) return d;
  }
  return null;
}

/**
 * Describes a mismatch between two outcomes, or null. When both throw, the errors may differ:
 * jsonata evaluates the members of `[...]` and `{...}` concurrently (Promise.all), so which of
 * two failing members reports first depends on its microtask scheduling.
 */
export function mismatch(expected: Outcome, actual: Outcome): string | null {
  if (expected.ok && actual.ok) return difference(expected.value, actual.value);
  if (!expected.ok && !actual.ok) return null;
  const describe = (o: Outcome) => (o.ok ? `value ${JSON.stringify(o.value)}` : `error ${(o.error as Error).message}`);
  return `${describe(expected)} vs ${describe(actual)}`;
}
