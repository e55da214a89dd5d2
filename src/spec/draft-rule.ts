import type { Diagnostic } from '../model/diagnostic.js';
import type { CompiledExpression } from '../rules/expression.js';
import { DEFAULT_DATA, DEFAULT_WHEN } from './compile-operation.js';
import { compileCelAt, compileJsonataAt } from './expressions.js';
import { SourceMap, type Located, type LocateOptions } from './locate.js';
import { Reporter } from './report.js';
import type { CompiledOperation, CompiledRule } from './types.js';

/** A rule as someone edits it in the console's playground: each field is the text of one expression. */
export interface DraftRule {
  when?: string | undefined;
  data?: string | undefined;
  key?: string | undefined;
}

export type DraftField = keyof DraftRule;

/** A problem in a draft: the field, and the line and column inside that field's text. */
export type DraftDiagnostic = Diagnostic & { field: DraftField; line: number; column: number };

/**
 * Compiles a draft with the spec loader's own compilers (compileCelAt, compileJsonataAt: the same
 * syntax, function and RE2 checks, the same messages). In place of the operation's rule `index`
 * (type, event type and stream come from it; past the end: a rule of type `Draft`).
 */
export function compileDraftRule(
  draft: DraftRule,
  op: CompiledOperation,
  index: number,
): { rule: CompiledRule; diagnostics: DraftDiagnostic[] } | { rule: null; diagnostics: DraftDiagnostic[] } {
  const report = new Reporter(new DraftSources(draft));
  const text = (field: DraftField) => (typeof draft[field] === 'string' && draft[field].trim() !== '' ? draft[field] : null);
  const when = text('when');
  const data = text('data');
  const key = text('key');
  const compiled = {
    when: compileCelAt(when ?? DEFAULT_WHEN, '/when', 'when', report),
    data: compileJsonataAt(data ?? DEFAULT_DATA, '/data', 'data', report),
    key: key === null ? null : compileJsonataAt(key, '/key', 'key', report),
  };
  const diagnostics = report.diagnostics.filter((d) => d.severity === 'error').map((d) => ({ ...d, field: d.pointer!.slice(1) as DraftField, line: d.line!, column: d.column! }));
  if (diagnostics.length > 0 || !compiled.when || !compiled.data || (key !== null && !compiled.key)) return { rule: null, diagnostics };
  const base = op.rules[index];
  const type = base?.type ?? 'Draft';
  return {
    rule: {
      type,
      eventType: base?.eventType ?? type,
      index: base?.index ?? op.rules.length,
      when: compiled.when,
      data: compiled.data,
      key: compiled.key as CompiledExpression | null,
      stream: base?.stream ?? op.resource?.name ?? 'events',
      location: { file: 'playground', pointer: `/${index}` },
    },
    diagnostics,
  };
}

/** Places a draft's problems inside the field's own text (`/when` at offset 12 -> line 1, column 13). */
class DraftSources extends SourceMap {
  constructor(private readonly draft: DraftRule) {
    super('playground');
  }

  override locate(pointer: string, options: LocateOptions = {}): Located {
    const source = this.draft[pointer.slice(1) as DraftField] ?? '';
    const before = source.slice(0, Math.max(0, Math.min(options.offset ?? 0, source.length))).split('\n');
    return { file: 'playground', pointer, line: before.length, column: before[before.length - 1]!.length + 1 };
  }
}
