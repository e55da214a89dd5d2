/**
 * One error shape everywhere (CLI, config, spec loading, dead letters), printed like a compiler:
 *   specs/shop.yaml:41:17 - error RX102: unknown CEL function 'startWith'. Did you mean 'startsWith'?
 */
import type { RxCode } from '../codes.js';
import { ReflexError } from '../errors.js';

export type Severity = 'error' | 'warning';

export interface Diagnostic {
  /** From the code list (src/codes.ts). */
  code: RxCode;
  severity: Severity;
  message: string;
  file?: string;
  /** JSON pointer of the offending value inside `file`. */
  pointer?: string;
  line?: number;
  column?: number;
  hint?: string;
}

export function formatDiagnostic(d: Diagnostic): string {
  let where = '';
  if (d.file) {
    where = d.file;
    if (d.line !== undefined) where += `:${d.line}:${d.column ?? 1}`;
    where += ' - ';
  }
  const pointer = d.pointer !== undefined ? ` (at ${d.pointer || '/'})` : '';
  const hint = d.hint ? ` ${d.hint}` : '';
  return `${where}${d.severity} ${d.code}: ${d.message}${hint}${pointer}`;
}

/** Thrown when input is rejected; carries every diagnostic found, not only the first (`code` and `pointer`: the first error's). */
export class DiagnosticError extends ReflexError {
  readonly diagnostics: Diagnostic[];
  constructor(diagnostics: Diagnostic[]) {
    const first = diagnostics.find((d) => d.severity === 'error') ?? diagnostics[0];
    super(first?.code ?? '', diagnostics.map(formatDiagnostic).join('\n'), { status: 400, pointer: first?.pointer });
    this.diagnostics = diagnostics;
  }
}

export function hasErrors(diagnostics: Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === 'error');
}
