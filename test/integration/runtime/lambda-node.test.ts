/**
 * Runtime parity: the functions run on the Lambda Node.js runtime (nodejs22.x) while the rest of
 * the suite runs on this machine's Node. This file runs the api and workflow handler tests again,
 * in a vitest of their own on the Lambda runtime's Node major, against the emulators this run
 * started (the child reuses them through the ALA_TEST_* endpoints the global setup exported).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../harness/env.ts';
import { lambdaNode } from '../../harness/lambda-node.ts';

const run = promisify(execFile);

/** The handler tests: the api handler on API Gateway events, the workflow handler driven by the state machine. */
const HANDLER_TESTS = [
  'test/integration/workflow/step-functions-handlers.test.ts',
  'test/integration/workflow/stress.test.ts',
];

interface JsonReport {
  readonly numTotalTests: number;
  readonly numPassedTests: number;
  readonly numFailedTests: number;
  readonly testResults: { readonly name: string; readonly status: string; readonly message?: string }[];
}

describe('Runtime parity with the Lambda Node.js runtime', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'ala-lambda-node-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('runs the api and workflow handler tests on the Lambda runtime’s Node major, all passing', async () => {
    const node = lambdaNode();
    expect(node.major).toBe(22);
    expect(node.version).not.toBe(process.version);
    for (const name of ['ALA_TEST_DYNAMODB_ENDPOINT', 'ALA_TEST_MOTO_ENDPOINT']) {
      expect(process.env[name], `${name} (set by the global setup)`).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    }
    const report = join(scratch, 'report.json');
    const vitest = join(REPO_ROOT, 'node_modules', 'vitest', 'vitest.mjs');
    const child = await run(
      node.path,
      [
        vitest,
        'run',
        '--project',
        'integration',
        '--reporter=json',
        `--outputFile=${report}`,
        ...HANDLER_TESTS,
      ],
      {
        cwd: REPO_ROOT,
        env: { ...process.env, ALA_TEST_QUIET: '1' },
        timeout: 480_000,
        maxBuffer: 32 * 1024 * 1024,
      },
    ).catch((error: { stdout?: string; stderr?: string; message: string }) => {
      throw new Error(
        `vitest on ${node.version} failed: ${error.message}\n${String(error.stderr ?? '').slice(-4000)}`,
      );
    });
    const result = JSON.parse(readFileSync(report, 'utf8')) as JsonReport;
    const files = result.testResults.map((r) => r.name.slice(REPO_ROOT.length + 1)).sort();
    expect(files).toEqual([...HANDLER_TESTS].sort());
    expect(result.numFailedTests, child.stderr.slice(-4000)).toBe(0);
    expect(result.numPassedTests).toBe(result.numTotalTests);
    expect(result.numTotalTests).toBeGreaterThanOrEqual(6);
    process.stdout.write(
      `handler tests on Node ${node.version}: ${result.numPassedTests} passed, ${result.numFailedTests} failed\n`,
    );
  }, 540_000);
});
