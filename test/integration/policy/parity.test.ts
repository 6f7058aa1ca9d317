import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { policyCases } from '../../unit/policy/cases.ts';
import { ROOT } from '../../unit/policy/support.ts';

const run = promisify(execFile);
const OPA = join(ROOT, '.tools/bin/opa');

/** The pack's Rego sources, without tests: what `opa build` compiles to the committed wasm. */
function regoSources(dir = join(ROOT, 'policies')): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!['build', 'data'].includes(relative(join(ROOT, 'policies'), path)))
        files.push(...regoSources(path));
    } else if (entry.name.endsWith('.rego') && !entry.name.endsWith('_test.rego')) {
      files.push(path);
    }
  }
  return files.sort();
}

/** data.approvals.decision evaluated by OPA's Go engine (topdown) from the Rego sources and data. */
async function opaEval(input: unknown): Promise<unknown> {
  const args = ['eval', '--format', 'json', '--stdin-input', '-d', join(ROOT, 'policies/data')];
  for (const file of regoSources()) args.push('-d', file);
  args.push('data.approvals.decision');
  const child = run(OPA, args, { maxBuffer: 16 * 1024 * 1024 });
  child.child.stdin?.end(JSON.stringify(input));
  const { stdout } = await child;
  const output = JSON.parse(stdout) as { result?: { expressions: { value: unknown }[] }[] };
  return output.result?.[0]?.expressions[0]?.value;
}

// The same table runs through the wasm evaluator in test/unit/policy/parity.test.ts.
describe('Module: default pack decision table, Go engine (opa eval)', () => {
  it('has the pinned opa CLI', () => {
    expect(existsSync(OPA), `${OPA} is missing: run 'bash scripts/tools.sh opa' (npm test does)`).toBe(true);
  });

  it.each(policyCases().map((c) => [c.name, c] as const))('%s', async (_name, policyCase) => {
    expect(await opaEval(policyCase.input)).toEqual(policyCase.expected);
  });
});
