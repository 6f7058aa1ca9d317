/**
 * The policy bundle of a Lambda: `policy.wasm`, `data.json`, `.manifest` and `.signatures.json`,
 * copied next to the handler by the CDK bundling step, verified against POLICY_VERIFICATION_KEY
 * (and POLICY_DIGEST when pinned) and loaded once per cold start. A bundle that is unsigned,
 * tampered or not the pinned one throws at init, so the function never answers with it. A
 * candidate in POLICY_SHADOW_DIR is evaluated beside it in shadow mode.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GatewayPolicy, type PolicySet } from '../policy/gateway-policy.ts';
import { parseVerificationKey } from '../policy/signature.ts';
import { loadTrustedPolicy } from '../policy/trusted.ts';
import type { LambdaLogger } from './composition.ts';
import { ENV, MissingEnvironmentError, optionalEnv, POLICY_FILES } from './env.ts';

/** CloudWatch metric (embedded metric format) counting evaluations where the shadow bundle diverged. */
export const SHADOW_DIVERGENCE_METRIC = { namespace: 'ActionLevelApprovals', name: 'PolicyShadowDivergence' };

/** Loads the bundle from POLICY_DIR, or from the folder of the running bundle (the Lambda task root). */
export async function loadBundledPolicy(
  logger: Pick<LambdaLogger, 'error' | 'warn'>,
): Promise<GatewayPolicy> {
  const dir = optionalEnv(ENV.policyDir) ?? dirname(fileURLToPath(import.meta.url));
  const pem = optionalEnv(ENV.policyVerificationKey);
  if (pem === undefined) {
    throw new MissingEnvironmentError(
      ENV.policyVerificationKey,
      'the PEM public key policy bundles must be signed for: the stack prop policyVerificationKey',
    );
  }
  const key = parseVerificationKey(pem, ENV.policyVerificationKey, optionalEnv(ENV.policySigningAlgorithm));
  const digest = optionalEnv(ENV.policyDigest);
  const at = (folder: string) => ({
    wasm: join(folder, POLICY_FILES.wasm),
    data: join(folder, POLICY_FILES.data),
  });
  const active = await loadTrustedPolicy(
    at(dir),
    { key, demo: false, ...(digest ? { digest } : {}) },
    { logger },
  );
  const shadowDir = optionalEnv(ENV.policyShadowDir);
  const set: PolicySet = { active: active.evaluator };
  const shadow =
    shadowDir === undefined
      ? undefined
      : await loadTrustedPolicy(at(join(dir, shadowDir)), { key, demo: false }, { logger });
  const decisionLog = optionalEnv(ENV.policyDecisionLog) !== 'false';
  return new GatewayPolicy(shadow ? { ...set, shadow: shadow.evaluator } : set, {
    labels: { app: 'action-level-approvals', mode: 'aws' },
    // Raw JSON lines on stdout: CloudWatch keeps each as one event, as OPA's console decision log does.
    ...(decisionLog ? { decisionLog: (entry) => process.stdout.write(`${JSON.stringify(entry)}\n`) } : {}),
    onDivergence: (d) =>
      logger.warn('policy shadow divergence', {
        event: 'policy.shadow_divergence',
        requestId: d.requestId,
        principal: d.principal,
        action: d.action,
        activeDigest: d.activeDigest,
        shadowDigest: d.shadowDigest,
        changes: d.changes,
        // Embedded metric format: CloudWatch turns this log line into a metric, no API call needed.
        _aws: {
          Timestamp: Date.now(),
          CloudWatchMetrics: [
            {
              Namespace: SHADOW_DIVERGENCE_METRIC.namespace,
              Dimensions: [['action']],
              Metrics: [{ Name: SHADOW_DIVERGENCE_METRIC.name, Unit: 'Count' }],
            },
          ],
        },
        [SHADOW_DIVERGENCE_METRIC.name]: 1,
      }),
  });
}
