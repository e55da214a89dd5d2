/**
 * The Kong format as an ingest worker can import it: the benchmark's reflex passes this registry
 * entry until connectors/sources/kong/format.ts says where it lives itself (LogFormat.module).
 */
import { kongFormat } from '../connectors/sources/kong/format.js';
import type { Registry } from '../src/registry.js';

export const kongFormatForWorkers = { ...kongFormat, module: kongFormat.module ?? import.meta.url };

export function withWorkerFormats(registry: Registry): Registry {
  return { ...registry, formats: new Map([...registry.formats, ['kong', kongFormatForWorkers]]) };
}
