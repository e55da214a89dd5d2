import { builtinRegistry } from '../connectors/index.js';
import type { ReflexConfig } from '../src/config/types.js';
import { createLogger } from '../src/logger.js';
import { startReflex } from '../src/runtime.js';
import { loadSpecSet } from '../src/spec/compile.js';
import { announceAndWait } from './child-lifetime.js';

/** Runs reflex as `reflex serve` wires it with `config` until the parent stops it (then writes the CPU profile, if any). */
export async function serveUntilStopped(config: ReflexConfig, writeProfile: () => Promise<void>): Promise<void> {
  // Warnings only: a log line per request would measure the logger.
  const logger = createLogger({ level: 'warn' });
  const specs = await loadSpecSet(config.specs);
  const running = await startReflex(config, specs, builtinRegistry(), logger);
  announceAndWait(running.url, async () => {
    await running.stop();
    await writeProfile();
  });
}
