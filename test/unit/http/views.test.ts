import { describe, expect, it } from 'vitest';
import type { PolicyDecision } from '../../../functions/core/model.ts';
import { toEvaluationView } from '../../../functions/http/views.ts';

describe('Function: toEvaluationView', () => {
  it('copies the approval and grant terms deeply: the view shares no object with the decision', () => {
    const decision: PolicyDecision = {
      outcome: 'require_approval',
      reasons: [{ code: 'prod_export', message: 'Production export needs two approvers.' }],
      approval: { groups: ['data-stewards'], min_approvals: 2, timeout_seconds: 3600, channels: ['slack'] },
      grant: { type: 'aws_sts', role: 'exporter', actions: ['s3:GetObject'], window_seconds: 900 },
      policyDigest: 'sha256:aa',
      inputHash: 'sha256:bb',
    };

    const view = toEvaluationView(decision, 'sha256:cc');

    expect(view).toEqual({
      outcome: 'require_approval',
      reasons: [{ code: 'prod_export', message: 'Production export needs two approvers.' }],
      approval: { groups: ['data-stewards'], min_approvals: 2, timeout_seconds: 3600, channels: ['slack'] },
      grant: { type: 'aws_sts', role: 'exporter', actions: ['s3:GetObject'], window_seconds: 900 },
      policy_digest: 'sha256:aa',
      input_hash: 'sha256:bb',
      action_hash: 'sha256:cc',
    });
    expect(view.approval).not.toBe(decision.approval);
    expect(view.approval?.groups).not.toBe(decision.approval?.groups);
    expect(view.grant?.actions).not.toBe(decision.grant?.actions);
    view.approval?.groups.push('changed');
    expect(decision.approval?.groups).toEqual(['data-stewards']);
  });
});
