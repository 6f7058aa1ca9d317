import { defineConfig } from 'vitest/config';

// `unit` needs nothing but Node; `integration` talks to the real parts (DynamoDB Local, moto server,
// opa, local HTTP servers) that test/harness/global-setup.ts starts once per run; `packaging` packs,
// installs and starts what users get.
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
        // What a user installs and starts: the packed SDK in a scratch project, `npm start` as a
        // process. Node and npm only (offline), but each test spawns processes and compilers.
        test: {
          name: 'packaging',
          include: ['test/packaging/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/support/build-bundles.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
