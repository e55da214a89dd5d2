import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

/**
 * Starts the module `./<name>` beside `callerUrl` (a caller's `import.meta.url`) on a worker thread:
 * the compiled `.js` as it is, or, when the caller runs from its TypeScript sources (tests, tsx),
 * the `.ts` through tsx's loader, which a worker thread does not inherit.
 */
export function startThread(callerUrl: string, name: string, workerData: object): Worker {
  const fromSources = callerUrl.endsWith('.ts');
  const entry = new URL(`./${name}${fromSources ? '.ts' : '.js'}`, callerUrl);
  if (!fromSources) return new Worker(entry, { workerData });
  // The package's ESM entry sits beside the CommonJS one that require.resolve finds.
  const tsx = pathToFileURL(createRequire(callerUrl).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
  const boot = `const { workerData } = require('node:worker_threads');
import(workerData.tsx).then((api) => { api.register(); return import(workerData.entry); });`;
  return new Worker(boot, { eval: true, workerData: { ...workerData, tsx, entry: entry.href } });
}
