import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname, extname, resolve } from 'node:path';
import type { Logger } from '../logger.js';

const SPEC_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

/**
 * Calls `reload` once the spec files have stopped changing for `quietMs` (`reload.watch`). Watches
 * the folders that hold them, not the files: editors save by writing a new file and renaming it
 * over the old one, which ends a watch on the file itself. Any YAML or JSON file there counts, so
 * that a change to a `$ref`'d component file reloads too.
 */
export function watchSpecFiles(files: readonly string[], reload: () => void, logger: Logger, quietMs = 500): { close(): void } {
  const folders = [...new Set(files.map((f) => dirname(resolve(f))))];
  let timer: NodeJS.Timeout | null = null;
  const changed = (file: string | null) => {
    if (file !== null && !SPEC_EXTENSIONS.has(extname(file).toLowerCase())) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      reload();
    }, quietMs);
    timer.unref();
  };
  const watchers: FSWatcher[] = [];
  for (const folder of folders) {
    try {
      const watcher = watch(folder, { persistent: false }, (_event, name) => changed(name === null ? null : basename(name.toString())));
      watcher.on('error', (err) => logger.warn('stopped watching a spec folder', { folder, error: err.message }));
      watchers.push(watcher);
    } catch (err) {
      logger.warn('cannot watch a spec folder; reload with POST /specs/reload or SIGHUP', { folder, error: (err as Error).message });
    }
  }
  return {
    close() {
      if (timer) clearTimeout(timer);
      for (const w of watchers) w.close();
    },
  };
}
