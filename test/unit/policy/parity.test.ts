import { type LoadedPolicy, loadPolicy } from '@open-policy-agent/opa-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { hashCanonical } from '../../../functions/core/canonical.ts';
import type { WasmPolicyEvaluator } from '../../../functions/policy/evaluator.ts';
import { policyCases } from './cases.ts';
import { bundleData, bundleWasm, loadDefaultPack } from './support.ts';

// The same table runs through `opa eval` (Go) in test/integration/policy/parity.test.ts.
describe('Module: default pack decision table, wasm engine', () => {
  const cases = policyCases();
  let evaluator: WasmPolicyEvaluator;

  beforeAll(async () => {
    evaluator = await loadDefaultPack();
  });

  it('covers every outcome and every area of the pack', () => {
    const codes = new Set(
      cases.flatMap((c) => (c.expected.reasons as { code: string }[]).map((r) => r.code)),
    );
    expect(cases.length).toBeGreaterThanOrEqual(12);
    expect(new Set(cases.map((c) => c.expected.outcome))).toEqual(
      new Set(['allow', 'deny', 'require_approval']),
    );
    for (const code of [
      'nonprod_read_only',
      'prod_read_only',
      'nonprod_data_export',
      'prod_data_export',
      'prod_cui_export',
      'cui_external_destination',
      'export_destination_missing',
      'export_dataset_invalid',
      'privilege_escalation',
      'prod_infra_change',
      'nonprod_infra_change',
      'secrets_read',
      'break_glass',
      'break_glass_not_permitted',
      'break_glass_justification_missing',
      'unknown_action',
      'invalid_subject',
      'invalid_action_name',
      'invalid_on_behalf_of',
      'invalid_resource',
      'invalid_grant_resource',
    ]) {
      expect(codes, code).toContain(code);
    }
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, policyCase) => {
    const { policyDigest, inputHash, ...decision } = evaluator.evaluateUnknown(policyCase.input);

    expect(decision).toEqual(policyCase.expected);
    expect(policyDigest).toBe(evaluator.digest);
    expect(inputHash).toBe(hashCanonical(policyCase.input));
  });
});

// The evaluator calls the module's opa_eval export directly (input written into wasm memory, the
// result read back) rather than through the SDK's evaluate; the SDK stays the reference for it.
describe('Module: direct opa_eval against the opa-wasm SDK, every decision table input', () => {
  const cases = policyCases();
  let evaluator: WasmPolicyEvaluator;
  let reference: LoadedPolicy;

  beforeAll(async () => {
    evaluator = await loadDefaultPack();
    reference = await loadPolicy(bundleWasm());
    reference.setData(bundleData());
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, policyCase) => {
    const resultSet = reference.evaluate(policyCase.input, 'approvals/decision') as { result: unknown }[];
    const {
      policyDigest: _digest,
      inputHash: _hash,
      ...decision
    } = evaluator.evaluateUnknown(policyCase.input);

    expect(resultSet).toHaveLength(1);
    expect(decision).toEqual(resultSet[0]?.result);
  });
});
