import { formatDiagnostic, type Diagnostic } from '../../src/model/diagnostic.js';
import { checkSpecSet } from '../../src/spec/compile.js';

/** Fixture specs, named as diagnostics name them (relative to the repository root, where vitest runs). */
export const F = 'test/fixtures/specs';

export async function diagnosticsOf(...files: string[]): Promise<Diagnostic[]> {
  return (await checkSpecSet(files.map((f) => `${F}/${f}`))).diagnostics;
}

/** Diagnostics as `reflex lint` prints them, so a test reads like the terminal. */
export async function linesOf(...files: string[]): Promise<string[]> {
  return (await diagnosticsOf(...files)).map(formatDiagnostic);
}
