#!/usr/bin/env node
// The whole test suite on a fresh clone: installs npm packages when missing or stale, compiles
// (strict type check), lints, then runs vitest. Test servers are started by the suite itself.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';

const run = (cmd, args) => {
  const r = spawnSync(cmd, args, { stdio: 'inherit', shell: process.platform === 'win32' });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
const installed = 'node_modules/.package-lock.json';
if (!existsSync(installed) || statSync(installed).mtimeMs < statSync('package-lock.json').mtimeMs) {
  run('npm', ['ci', '--no-audit', '--no-fund']);
}
// Fixes to dependencies (patches/, see README Development), also where node_modules was installed before they existed.
run('npx', ['patch-package']);
run('npx', ['tsc', '-p', '.']);
// The web console (dist/console/, served at /console/), which its browser test loads.
run('node', ['scripts/build-console.mjs']);
// The connector boundary (connectors/ imports only src/sdk), see eslint.config.js.
run('npx', ['eslint', '.']);
// Coverage of the in-process code (unit tests and what they reach), as a summary in the output.
run('npx', ['vitest', 'run', '--coverage', ...process.argv.slice(2)]);
