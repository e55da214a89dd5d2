import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: the nearest folder with a package.json above this file (works from testbed/ and dist/testbed/). */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('testbed: no package.json above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
  return dir;
}

/** `.testbed/` holds downloaded servers, their data and state.json (git-ignored). */
export function testbedDir(root = repoRoot()): string {
  return join(root, '.testbed');
}
