import { loadConfig } from '../config/load.js';
import { asyncApiDocument } from '../contracts/asyncapi.js';
import { contractSinks } from '../contracts/sinks.js';
import { formatDiagnostic } from '../model/diagnostic.js';
import type { Registry } from '../registry.js';
import { loadSpecSet } from '../spec/compile.js';
import type { RefPolicy } from '../spec/ref-files.js';
import type { CliIO } from './main.js';

/**
 * `reflex asyncapi <spec>... [--config reflex.yaml]`: the AsyncAPI 3.0 document of the events and
 * change records (JSON on stdout); with a config, its sinks give the channels' addresses and bindings.
 */
export async function runAsyncApi(options: { specs: string[]; config?: string; refs: RefPolicy }, registry: Registry, io: CliIO): Promise<number> {
  const config = options.config ? loadConfig(options.config, io.env) : null;
  const specs = options.specs.length > 0 ? options.specs : (config?.specs ?? []);
  if (specs.length === 0) throw new Error('asyncapi needs spec files, as arguments or as `specs:` in the config');
  const set = await loadSpecSet(specs, options.refs);
  for (const d of set.warnings) io.err(formatDiagnostic(d));
  io.out(JSON.stringify(asyncApiDocument(set.contracts, set.streams, contractSinks(config?.sinks ?? [], registry)), null, 2));
  return 0;
}
