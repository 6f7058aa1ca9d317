import type { PolicyEvaluator } from '../core/ports/policy.port.ts';

const NO_DIGEST = `sha256:${'0'.repeat(64)}`;

/**
 * For functions that never evaluate a policy (the sweeper only expires and restarts executions):
 * it denies everything and knows no one, so a wiring mistake fails closed.
 */
export const noPolicy: PolicyEvaluator = {
  evaluate: () => ({
    outcome: 'deny',
    reasons: [{ code: 'policy_error', message: 'this function has no policy bundle' }],
    policyDigest: NO_DIGEST,
    inputHash: NO_DIGEST,
  }),
  digest: NO_DIGEST,
  directory: { groups: {}, identities: {} },
};
