import { join, resolve } from 'node:path';
import { loadConfig } from '../config/load.js';
import { defaultConfig, type ReflexConfig } from '../config/types.js';
import { createLogger } from '../logger.js';
import type { Registry } from '../registry.js';
import { startReflex } from '../runtime.js';
import { bodylessRuleWarnings, type FormatBodies } from '../spec/bodyless-rules.js';
import { loadSpecSet } from '../spec/compile.js';
import type { CliIO } from './main.js';

interface ServeFlags {
  spec?: string[] | undefined;
  config?: string | undefined;
  host?: string | undefined;
  port?: string | undefined;
  data?: string | undefined;
}

/** `reflex serve`: flags override the config file, which overrides the defaults. */
export async function runServe(flags: ServeFlags, registry: Registry, io: CliIO): Promise<number> {
  const config = flags.config ? loadConfig(flags.config, io.env) : defaultConfig();
  if (flags.spec?.length) config.specs = flags.spec.map((s) => resolve(s));
  if (flags.host) config.server.host = flags.host;
  if (flags.port !== undefined) {
    const port = Number(flags.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be a port number, got '${flags.port}'`);
    config.server.port = port;
  }
  if (flags.data) config.store.path = join(flags.data, 'reflex.db');
  if (config.specs.length === 0) throw new Error('no spec to serve: pass --spec <file> or list `specs:` in the config');

  const logger = createLogger({ level: config.log.level, json: config.log.format === 'json', write: io.err });
  const specs = await loadSpecSet(config.specs, config.specRefs);
  for (const w of specs.warnings) logger.warn(w.message, { file: w.file, line: w.line, pointer: w.pointer });
  for (const w of bodylessRuleWarnings(specs, sourceFormats(config, registry))) logger.warn(w.message, { code: w.code, file: w.file, line: w.line, pointer: w.pointer });
  const running = await startReflex(config, specs, registry, logger);
  logger.info('reflex is listening', {
    url: running.url,
    store: config.store.path,
    specs: config.specs.length,
    operations: specs.operations.length,
    streams: specs.streams.map((s) => s.name),
  });

  return new Promise<number>((resolveExit) => {
    const stop = (signal: string) => {
      logger.info('stopping', { signal });
      process.off('SIGHUP', reload);
      running.stop().then(
        () => resolveExit(0),
        (err: Error) => {
          logger.error('stop failed', { error: err.message });
          resolveExit(1);
        },
      );
    };
    // SIGHUP reloads the specs, as nginx and Prometheus reload their configuration; the outcome is logged.
    const reload = () => void running.reloadSpecs('SIGHUP');
    process.on('SIGHUP', reload);
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
}

/**
 * The format each configured source reads; a source that takes no `format:` (envoy-als) counts as
 * one with bodies. The always-on HTTP receivers are left out: a deployment that configures only
 * bodyless sources gets its traffic from those, not from the receivers.
 */
function sourceFormats(config: ReflexConfig, registry: Registry): FormatBodies[] {
  return config.sources.map((block) => {
    const format = registry.sources.get(block.type)?.takesFormat ? registry.formats.get(String(block.format)) : undefined;
    return format ?? { name: block.type };
  });
}
