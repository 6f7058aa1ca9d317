import { defineConfig } from 'vitest/config';

// Two projects: `unit` needs nothing but Node; `integration` talks to the real parts (DynamoDB Local,
// moto server, opa, local HTTP servers) that test/harness/global-setup.ts starts once per run.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
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
    ],
  },
});
