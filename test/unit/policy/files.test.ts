import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PolicyLoadError } from '../../../functions/policy/errors.ts';
import { loadPolicyEvaluatorFromFiles } from '../../../functions/policy/files.ts';
import { BUNDLE } from './support.ts';

describe('Function: loadPolicyEvaluatorFromFiles', () => {
  it('loads the committed bundle from its paths', async () => {
    const evaluator = await loadPolicyEvaluatorFromFiles(BUNDLE);
    expect(evaluator.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('names a missing file and says how to produce it', async () => {
    const loading = loadPolicyEvaluatorFromFiles({ ...BUNDLE, wasm: '/nonexistent/policy.wasm' });
    await expect(loading).rejects.toBeInstanceOf(PolicyLoadError);
    await expect(loading).rejects.toThrow(
      /\/nonexistent\/policy\.wasm: it does not exist; run 'npm run policy:build'/,
    );
  });

  it('names a data file that is not JSON', async () => {
    const data = join(mkdtempSync(join(tmpdir(), 'policy-files-')), 'data.json');
    writeFileSync(data, '{"groups": ');
    await expect(loadPolicyEvaluatorFromFiles({ ...BUNDLE, data })).rejects.toThrow(
      new RegExp(`The policy data ${data} is not valid JSON`),
    );
  });
});
