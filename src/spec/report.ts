import type { Diagnostic, Severity } from '../model/diagnostic.js';
import type { LocateOptions, SourceMap } from './locate.js';
import type { RxCode } from '../codes.js';

/** Collects diagnostics for one spec file, placing each at the file:line:column its pointer came from. */
export class Reporter {
  readonly diagnostics: Diagnostic[] = [];

  constructor(readonly sources: SourceMap) {}

  error(code: RxCode, pointer: string, message: string, extra: { hint?: string | undefined } & LocateOptions = {}): void {
    this.add('error', code, pointer, message, extra);
  }

  warn(code: RxCode, pointer: string, message: string, extra: { hint?: string | undefined } & LocateOptions = {}): void {
    this.add('warning', code, pointer, message, extra);
  }

  push(...diagnostics: Diagnostic[]): void {
    this.diagnostics.push(...diagnostics);
  }

  private add(severity: Severity, code: RxCode, pointer: string, message: string, extra: { hint?: string | undefined } & LocateOptions): void {
    const at = this.sources.locate(pointer, extra);
    const d: Diagnostic = { code, severity, message: withHint(message, extra.hint), file: at.file, pointer: at.pointer, line: at.line, column: at.column };
    if (extra.hint) d.hint = extra.hint;
    this.diagnostics.push(d);
  }
}

/** formatDiagnostic prints the hint right after the message: end the sentence first, as tsc does. */
export function withHint(message: string, hint: string | undefined): string {
  return hint && !/[.?!]$/.test(message) ? `${message}.` : message;
}
