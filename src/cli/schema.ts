import { formatDiagnostic } from '../model/diagnostic.js';
import { loadSpecSet } from '../spec/compile.js';
import type { RefPolicy } from '../spec/ref-files.js';
import type { CliIO } from './main.js';

/**
 * `reflex schema <spec>...`: the inferred JSON Schemas (event data, resource state, change
 * records) as one JSON document on stdout; warnings (RX157 where inference stopped) on stderr.
 */
export async function runSchema(files: string[], io: CliIO, refs?: RefPolicy): Promise<number> {
  const set = await loadSpecSet(files, refs);
  for (const d of set.warnings) io.err(formatDiagnostic(d));
  io.out(JSON.stringify(set.contracts, null, 2));
  return 0;
}
