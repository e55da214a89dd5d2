import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Debian packages for testing the Kong plugin's Lua: LuaJIT (Kong's Lua), busted, lua-cjson. */
export const LUA_PACKAGES = ['luajit', 'lua-busted', 'lua-cjson'];

export interface LuaTools {
  /** The LuaJIT interpreter. */
  luajit: string;
  /** busted's command-line script; run it as `luajit <busted> …` so the specs run under LuaJIT. */
  busted: string;
}

/** Absolute path of `cmd` on PATH, or null. */
function which(cmd: string): string | null {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  const path = r.status === 0 ? r.stdout.trim() : '';
  return path.startsWith('/') ? path : null;
}

/** LuaJIT, busted and cjson usable together: busted's runner and cjson load under luajit. */
function found(): LuaTools | null {
  const luajit = which('luajit');
  const busted = which('busted') ?? (existsSync('/usr/bin/busted') ? '/usr/bin/busted' : null);
  if (!luajit || !busted) return null;
  const probe = spawnSync(luajit, ['-e', 'require("busted.runner"); require("cjson")'], { encoding: 'utf8' });
  return probe.status === 0 ? { luajit, busted } : null;
}

function output(r: SpawnSyncReturns<string>): string {
  return `${r.error?.message ?? ''}${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n').slice(-20).join('\n');
}

/**
 * LuaJIT and busted for the Kong plugin's specs (plugins/kong/spec). Reuses them when installed;
 * otherwise installs LUA_PACKAGES with apt-get (as root, or through `sudo -n`), running
 * `apt-get update` only when the first install fails (stale or empty package lists).
 */
export function ensureLua(): LuaTools {
  const present = found();
  if (present) return present;

  if (!which('apt-get')) {
    throw new Error(
      `testbed: LuaJIT and busted are missing and there is no apt-get here; install luajit, then ` +
        `\`luarocks --lua-version=5.1 install busted\` and \`luarocks --lua-version=5.1 install lua-cjson\``,
    );
  }
  const root = process.getuid?.() === 0;
  const sudo = root ? [] : which('sudo') ? ['sudo', '-n'] : null;
  if (!sudo) throw new Error(`testbed: installing ${LUA_PACKAGES.join(' ')} needs root (or sudo); install them and run again`);
  const apt = (args: string[]) => {
    const [cmd, ...rest] = [...sudo, 'apt-get', ...args];
    return spawnSync(cmd!, rest, { encoding: 'utf8', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  };
  const install = ['install', '-y', '-q', '--no-install-recommends', ...LUA_PACKAGES];

  process.stderr.write(`testbed: installing ${LUA_PACKAGES.join(' ')} with apt-get (first run only)\n`);
  let r = apt(install);
  if (r.status !== 0) {
    const update = apt(['update', '-q']);
    if (update.status !== 0) throw new Error(`testbed: apt-get update failed:\n${output(update)}`);
    r = apt(install);
  }
  if (r.status !== 0) throw new Error(`testbed: apt-get install ${LUA_PACKAGES.join(' ')} failed:\n${output(r)}`);

  const tools = found();
  if (!tools) throw new Error(`testbed: installed ${LUA_PACKAGES.join(' ')}, but busted or cjson does not load under luajit`);
  return tools;
}
