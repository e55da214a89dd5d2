import { RE2JS } from 're2js';

/**
 * CEL's `matches` uses RE2 syntax (CEL language definition, "Regular expressions"), and RE2 runs
 * in time linear in the input: `'^(a+)+$'` cannot take a backtracking engine's exponential path,
 * so no rule can freeze the process with a pattern. re2js is RE2 in plain JavaScript (no native build).
 */
const cache = new Map<string, RE2JS>();
/** Patterns built from data at runtime would grow the cache without end: start over past this many. */
const MAX_CACHED = 1000;

/** The compiled pattern, compiled once per pattern string. Throws RE2's syntax error. */
export function re2(pattern: string): RE2JS {
  let compiled = cache.get(pattern);
  if (compiled === undefined) {
    compiled = RE2JS.compile(pattern);
    if (cache.size >= MAX_CACHED) cache.clear();
    cache.set(pattern, compiled);
  }
  return compiled;
}

/** CEL `matches`: true when the pattern matches any part of the text (not anchored). */
export function re2Matches(text: string, pattern: string): boolean {
  return re2(pattern).test(text);
}

/** Why RE2 refuses `pattern` (backreferences, lookaround, ...), or null when it compiles. */
export function re2Problem(pattern: string): string | null {
  try {
    re2(pattern);
    return null;
  } catch (err) {
    return String((err as Error).message ?? err).replace(/^error parsing regexp: /, '');
  }
}
