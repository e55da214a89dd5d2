import { defineConfig } from 'vitest/config';

// Three projects, one run: `npm test` runs them all; `npm run test:unit` only the in-process ones
// (seconds, no servers, no compiled dist/). Integration and e2e run the compiled CLI and real servers.
const serverTests = { globalSetup: ['test/support/global-setup.ts'], testTimeout: 30_000, hookTimeout: 120_000 };

export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'], testTimeout: 30_000, hookTimeout: 120_000 } },
      { test: { name: 'integration', include: ['test/integration/**/*.test.ts'], ...serverTests } },
      { test: { name: 'e2e', include: ['test/e2e/**/*.test.ts'], ...serverTests } },
    ],
    coverage: {
      provider: 'v8',
      include: ['src/**/*.ts', 'connectors/**/*.ts'],
      // A summary in the CI output; the HTML report stays local (coverage/).
      reporter: ['text-summary', 'html'],
    },
  },
});
