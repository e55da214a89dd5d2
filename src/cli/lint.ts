import { formatDiagnostic, type Diagnostic } from '../model/diagnostic.js';
import { checkSpecSet } from '../spec/compile.js';
import { displayPath } from '../spec/locate.js';
import type { RefPolicy } from '../spec/ref-files.js';
import { resolve } from 'node:path';

/**
 * `reflex lint <spec>...`: prints every finding like tsc does, then one summary line.
 * Exit code 1 when there is an error; warnings are printed but pass.
 */
export async function runLint(files: string[], out: (line: string) => void, refs?: RefPolicy): Promise<number> {
  const { diagnostics } = await checkSpecSet(files, refs);
  for (const d of diagnostics) out(formatDiagnostic(d));
  out(summary(diagnostics, files.map((f) => displayPath(resolve(f)))));
  return diagnostics.some((d) => d.severity === 'error') ? 1 : 0;
}

function count(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** `2 errors in specs/shop.yaml`, `1 error, 1 warning in a.yaml, common.yaml`, `no problems in a.yaml`. */
export function summary(diagnostics: readonly Diagnostic[], files: readonly string[]): string {
  const errors = diagnostics.filter((d) => d.severity === 'error').length;
  const warnings = diagnostics.length - errors;
  const named = [...new Set(diagnostics.map((d) => d.file).filter((f): f is string => f !== undefined))];
  const where = (named.length ? named : files).join(', ');
  if (errors === 0 && warnings === 0) return `no problems in ${where}`;
  const parts = [count(errors, 'error')];
  if (warnings > 0) parts.push(count(warnings, 'warning'));
  return `${parts.join(', ')} in ${where}`;
}
