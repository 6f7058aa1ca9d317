/**
 * The signed webhook on AWS, as synthesized: the URL and the secret's ARN in the environment of
 * the three functions that deliver cards, a generated secret encrypted with the stack's key and
 * readable only by them, no API method added, and no unacknowledged cdk-nag finding.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  COMMERCIAL_REGION,
  functionResource,
  property,
  readViolations,
  resourcesOfType,
  SYNTH_TIMEOUT_MS,
  type Synthesized,
  synthGateway,
} from './synth.ts';

const URL = 'https://hooks.example.gov/approvals';

describe('Signed webhook on AWS', () => {
  let synth: Synthesized;

  beforeAll(() => {
    synth = synthGateway({ region: COMMERCIAL_REGION, stackProps: { webhook: { url: URL } } });
  }, SYNTH_TIMEOUT_MS);

  it('synthesizes with no unacknowledged cdk-nag finding', () => {
    expect(readViolations(synth.outdir)).toEqual([]);
  });

  it('gives the delivering functions the URL and a generated, key-encrypted secret, and nothing else', () => {
    const [[secretId, secret] = []] = resourcesOfType(synth.json, 'AWS::SecretsManager::Secret');
    expect(secretId).toBeDefined();
    expect(property(secret as never, 'KmsKeyId')).toBeDefined();
    expect(property(secret as never, 'GenerateSecretString')).toMatchObject({
      GenerateStringKey: 'secret',
      PasswordLength: 64,
    });
    for (const id of ['ApiFunction', 'WorkflowFunction', 'SweeperFunction'] as const) {
      const env = property<{ Variables: Record<string, unknown> }>(
        functionResource(synth, id).resource,
        'Environment',
      ).Variables;
      expect(env.WEBHOOK_URL).toBe(URL);
      expect(env.WEBHOOK_SECRET_ARN).toEqual({ Ref: secretId });
    }
    const reads = resourcesOfType(synth.json, 'AWS::IAM::ManagedPolicy')
      .flatMap(([, p]) => property<{ Statement: Record<string, unknown>[] }>(p, 'PolicyDocument').Statement)
      .filter((s) => s.Sid === 'ReadWebhookSecret');
    expect(reads).toHaveLength(3);
    // A webhook only receives: every API method still needs IAM.
    expect(
      resourcesOfType(synth.json, 'AWS::ApiGateway::Method').every(
        ([, m]) => property(m, 'AuthorizationType') === 'AWS_IAM',
      ),
    ).toBe(true);
  });
});

it(
  'refuses a webhook URL that is not https',
  () => {
    expect(() =>
      synthGateway({
        region: COMMERCIAL_REGION,
        stackProps: { webhook: { url: 'http://hooks.example.gov/x' } },
      }),
    ).toThrow(/webhook.url must be an https URL.*got "http:\/\/hooks.example.gov\/x"/);
  },
  SYNTH_TIMEOUT_MS,
);
