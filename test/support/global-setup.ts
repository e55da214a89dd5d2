import { spawnSync } from 'node:child_process';

/**
 * End-to-end tests run the compiled CLI (dist/), as users do: compile once before the suite.
 * Type errors do not stop the emit here; `npm test` fails on them in its own tsc step.
 */
export default function setup(): void {
  spawnSync('npx', ['tsc', '-p', '.'], { stdio: 'ignore' });
  // The web console (dist/console/), which test/e2e/console.test.ts opens in a browser.
  spawnSync(process.execPath, ['scripts/build-console.mjs'], { stdio: 'ignore' });
}
