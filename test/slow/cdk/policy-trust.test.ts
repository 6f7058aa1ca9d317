/** Policy trust in the stack: the verification key and digest the functions get, and the demo-key warning. */
import { readFileSync } from 'node:fs';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEMO_POLICY_VERIFICATION_KEY } from '../../../cdk/paths.ts';
import { testKeys } from '../../support/signed-bundle.ts';
import {
  apiEnvironment,
  COMMERCIAL_REGION,
  functionResource,
  property,
  SYNTH_TIMEOUT_MS,
  type Synthesized,
  synthGateway,
} from './synth.ts';

const workflowEnvironment = (synth: Synthesized) =>
  property<{ Variables: Record<string, unknown> }>(
    functionResource(synth, 'WorkflowFunction').resource,
    'Environment',
  ).Variables;

describe('policy trust in the stack', () => {
  let demo: Synthesized;
  let own: Synthesized;
  const key = readFileSync(testKeys().publicKeyPath, 'utf8');
  const digest = `sha256:${'c'.repeat(64)}`;

  beforeAll(() => {
    demo = synthGateway({ region: COMMERCIAL_REGION });
    own = synthGateway({
      region: COMMERCIAL_REGION,
      stackProps: { policyVerificationKey: key, policyDigest: digest },
    });
  }, SYNTH_TIMEOUT_MS * 2);

  it('without a key, trusts the demo key and warns at synth that it must be replaced', () => {
    expect(apiEnvironment(demo).POLICY_VERIFICATION_KEY).toBe(
      readFileSync(DEMO_POLICY_VERIFICATION_KEY, 'utf8'),
    );
    const warnings = Annotations.fromStack(demo.stack).findWarning(
      '*',
      Match.stringLikeRegexp('policyVerificationKey is not set'),
    );
    expect(warnings).toHaveLength(1);
  });

  it('gives the api and workflow functions the configured key and pinned digest, without the warning', () => {
    for (const env of [apiEnvironment(own), workflowEnvironment(own)]) {
      expect(env.POLICY_VERIFICATION_KEY).toBe(key);
      expect(env.POLICY_DIGEST).toBe(digest);
    }
    expect(
      Annotations.fromStack(own.stack).findWarning(
        '*',
        Match.stringLikeRegexp('policyVerificationKey is not set'),
      ),
    ).toHaveLength(0);
    expect(apiEnvironment(demo).POLICY_DIGEST).toBeUndefined();
  });

  it(
    'refuses a digest that is not sha256:<64 hex> and a key that is not a PEM public key',
    () => {
      expect(() =>
        synthGateway({ region: COMMERCIAL_REGION, stackProps: { policyDigest: 'c7fb44' } }),
      ).toThrow(/policyDigest is "c7fb44"; give sha256:<64 hex digits>/);
      expect(() =>
        synthGateway({ region: COMMERCIAL_REGION, stackProps: { policyVerificationKey: 'not a key' } }),
      ).toThrow(/PEM public key/);
    },
    SYNTH_TIMEOUT_MS,
  );
});
