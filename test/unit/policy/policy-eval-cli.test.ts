import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { policyCases } from './cases.ts';
import { ROOT } from './support.ts';

const execFileAsync = promisify(execFile);

async function policyEval(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'scripts/policy-eval.ts'), ...args],
      { cwd: ROOT, env: { ...process.env, INIT_CWD: ROOT } },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

function writeInput(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'policy-eval-')), 'input.json');
  writeFileSync(file, text);
  return file;
}

describe('Script: policy-eval', () => {
  it('prints the decision as JSON and fills in a missing now', async () => {
    const [firstCase] = policyCases();
    const { now: _dropped, ...withoutNow } = firstCase?.input ?? {};

    const result = await policyEval([writeInput(JSON.stringify(withoutNow)), '--json']);

    expect(result.code).toBe(0);
    const decision = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(decision.outcome).toBe(firstCase?.expected.outcome);
    expect(decision.policyDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(decision.inputHash).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('exits 2 and says what to fix for a file that is not JSON', async () => {
    const result = await policyEval([writeInput('{"action": ')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/is not valid JSON .* Fix the file/);
  });

  it('exits 2 for a missing input file and 1 for a missing bundle', async () => {
    const missingInput = await policyEval(['does-not-exist.json']);
    const missingBundle = await policyEval([writeInput('{}'), '--wasm', '/nonexistent/policy.wasm']);
    expect(missingInput.code).toBe(2);
    expect(missingInput.stderr).toContain('input file does-not-exist.json does not exist');
    expect(missingBundle.code).toBe(1);
    expect(missingBundle.stderr).toContain("run 'npm run policy:build'");
  });
});
