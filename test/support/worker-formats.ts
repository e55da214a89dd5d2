/**
 * The Kong format as ingest workers import it (LogFormat.module), and a variant whose decoder kills
 * its worker thread when a payload asks for it, to test what a crashed worker costs.
 */
import { kongFormat } from '../../connectors/sources/kong/format.js';
import type { Registry } from '../../src/registry.js';
import type { LogFormat } from '../../src/sources/types.js';

export const kongOnWorkers: LogFormat = kongFormat;

/** The marker a payload carries to make the worker decoding it exit. */
export const CRASH_MARKER = 'crash-the-ingest-worker';

export const crashingKong: LogFormat = {
  ...kongFormat,
  name: 'kong-crashing',
  module: import.meta.url,
  decode(payload, options) {
    // Only ever on a worker thread: process.exit there ends that thread, not the process.
    if (payload.includes(CRASH_MARKER)) process.exit(3);
    return kongFormat.decode(payload, options);
  },
};

/** The built-in registry with the Kong format importable by workers. */
export function withWorkerKong(registry: Registry): Registry {
  return { ...registry, formats: new Map([...registry.formats, ['kong', kongOnWorkers], ['kong-crashing', crashingKong]]) };
}
