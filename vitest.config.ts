import { defineConfig } from 'vitest/config';

// Timeouts are set per project for a busy 2-core machine (CI shares it with other work); nothing
// relies on vitest's 5 s default.
//
// - `unit` needs nothing but Node: no tools from .tools/, no emulators. Some tests spawn a Node
//   process (the CLI, the gateway), hence more than the default.
// - `integration` talks to the real parts (DynamoDB Local, moto server, opa, local HTTP servers)
//   that test/harness/global-setup.ts starts once per run.
// - `packaging` packs, installs and starts what users get: Node and npm only (offline), but each
//   test spawns processes and compilers.
// - `slow` holds the checks that synthesize the CDK app, bundle with esbuild or run cfn-lint
//   (Python): seconds each even on an idle machine.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
          // `ala serve` is tested through bin/ala.js, which runs the compiled CLI.
          globalSetup: ['test/support/build-bundles.ts'],
          testTimeout: 20_000,
          hookTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/harness/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: 'packaging',
          include: ['test/packaging/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/support/build-bundles.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
      {
        test: {
          name: 'slow',
          include: ['test/slow/**/*.test.ts'],
          environment: 'node',
          testTimeout: 180_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
