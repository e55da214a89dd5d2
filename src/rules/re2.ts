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

/**
 * jsonata's `RegexEngine`: the RegExp subset jsonata uses (`lastIndex`, `exec`, `source`), backed by
 * RE2, so `/(a+)+$/` in a JSONata rule (`$match`, `$replace`, `$split`, `$contains`, `~>`) runs in
 * linear time too. jsonata constructs it with the RegExp its parser made (flags `i`, `m`, and `g`).
 */
export class Re2RegExp {
  lastIndex = 0;
  readonly source: string;
  readonly flags: string;
  private readonly compiled: RE2JS;

  constructor(pattern: RegExp | string, flags?: string) {
    this.source = typeof pattern === 'string' ? pattern : pattern.source;
    this.flags = typeof pattern === 'string' ? (flags ?? '') : pattern.flags;
    let options = 0;
    if (this.flags.includes('i')) options |= RE2JS.CASE_INSENSITIVE;
    if (this.flags.includes('m')) options |= RE2JS.MULTILINE;
    if (this.flags.includes('s')) options |= RE2JS.DOTALL;
    this.compiled = options === 0 ? re2(this.source) : RE2JS.compile(this.source, options);
  }

  exec(text: string): RegExpExecArray | null {
    const matcher = this.compiled.matcher(text);
    if (this.lastIndex > text.length || !matcher.find(this.lastIndex)) {
      this.lastIndex = 0;
      return null;
    }
    const groups: Array<string | undefined> = [matcher.group(0) ?? ''];
    for (let g = 1; g <= matcher.groupCount(); g++) groups.push(matcher.group(g) ?? undefined);
    const result = Object.assign(groups, { index: matcher.start(), input: text }) as unknown as RegExpExecArray;
    this.lastIndex = matcher.end();
    return result;
  }

  test(text: string): boolean {
    return this.exec(text) !== null;
  }
}
