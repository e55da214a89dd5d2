import { spawnSync } from 'node:child_process';
import { which } from './proc.js';

/**
 * Installs Debian packages with apt-get (as root, or through `sudo -n`), for the tools and servers a
 * fresh CI machine lacks. Waits for dpkg's lock (parallel test workers may install at once) and runs
 * `apt-get update` only when the first install fails (package lists stale or never fetched). Throws
 * with apt's last lines and `hint` (what to install by hand) when it cannot.
 */
export function aptInstall(packages: string[], hint: string): void {
  const what = packages.join(' ');
  if (!which('apt-get')) throw new Error(`testbed: ${what} missing and there is no apt-get here; ${hint}`);
  const root = process.getuid?.() === 0;
  const sudo = root ? [] : which('sudo') ? ['sudo', '-n'] : null;
  if (!sudo) throw new Error(`testbed: installing ${what} needs root (or sudo); ${hint}`);
  const apt = (args: string[]) => {
    const [cmd, ...rest] = [...sudo, 'apt-get', ...args];
    const r = spawnSync(cmd!, rest, { encoding: 'utf8', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    return { ok: !r.error && r.status === 0, out: `${r.error?.message ?? ''}${r.stdout ?? ''}${r.stderr ?? ''}` };
  };
  const install = ['-o', 'DPkg::Lock::Timeout=300', 'install', '-y', '-q', '--no-install-recommends', ...packages];
  process.stderr.write(`testbed: installing ${what} with apt-get (first run only)\n`);
  let r = apt(install);
  if (!r.ok) {
    const update = apt(['-o', 'DPkg::Lock::Timeout=300', 'update', '-q']);
    if (!update.ok) throw new Error(`testbed: apt-get update failed; ${hint}\n${lastLines(update.out)}`);
    r = apt(install);
  }
  if (!r.ok) throw new Error(`testbed: apt-get install ${what} failed; ${hint}\n${lastLines(r.out)}`);
}

function lastLines(text: string): string {
  return text.trim().split('\n').slice(-15).join('\n');
}
