/**
 * The policy bundle of a Lambda: `policy.wasm` and `data.json`, copied next to the handler by the
 * CDK bundling step, loaded once per cold start by the policy module. A broken bundle throws at
 * init, so the function never answers with a policy it could not load.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PolicyEvaluator } from '../core/ports/policy.port.ts';
import type { PolicyLogger } from '../policy/evaluator.ts';
import { loadPolicyEvaluatorFromFiles } from '../policy/files.ts';
import { ENV, optionalEnv, POLICY_FILES } from './env.ts';

/** Loads the bundle from POLICY_DIR, or from the folder of the running bundle (the Lambda task root). */
export function loadBundledPolicy(logger: PolicyLogger): Promise<PolicyEvaluator> {
  const dir = optionalEnv(ENV.policyDir) ?? dirname(fileURLToPath(import.meta.url));
  return loadPolicyEvaluatorFromFiles(
    { wasm: join(dir, POLICY_FILES.wasm), data: join(dir, POLICY_FILES.data) },
    { logger },
  );
}
