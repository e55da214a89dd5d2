import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { aptInstall } from './apt.js';
import { which } from './proc.js';

/** Debian packages for testing the Kong plugin's Lua: LuaJIT (Kong's Lua), busted, lua-cjson. */
export const LUA_PACKAGES = ['luajit', 'lua-busted', 'lua-cjson'];

export interface LuaTools {
  /** The LuaJIT interpreter. */
  luajit: string;
  /** busted's command-line script; run it as `luajit <busted> …` so the specs run under LuaJIT. */
  busted: string;
}

/** LuaJIT, busted and cjson usable together: busted's runner and cjson load under luajit. */
function found(): LuaTools | null {
  const luajit = which('luajit');
  const busted = which('busted') ?? (existsSync('/usr/bin/busted') ? '/usr/bin/busted' : null);
  if (!luajit || !busted) return null;
  const probe = spawnSync(luajit, ['-e', 'require("busted.runner"); require("cjson")'], { encoding: 'utf8' });
  return probe.status === 0 ? { luajit, busted } : null;
}

/**
 * LuaJIT and busted for the Kong plugin's specs (plugins/kong/spec). Reuses them when installed;
 * otherwise installs LUA_PACKAGES with apt-get.
 */
export function ensureLua(): LuaTools {
  const present = found();
  if (present) return present;

  aptInstall(LUA_PACKAGES, 'install luajit, then `luarocks --lua-version=5.1 install busted` and `luarocks --lua-version=5.1 install lua-cjson`');
  const tools = found();
  if (!tools) throw new Error(`testbed: installed ${LUA_PACKAGES.join(' ')}, but busted or cjson does not load under luajit`);
  return tools;
}
