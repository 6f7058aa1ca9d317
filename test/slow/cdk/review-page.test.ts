/**
 * The review page on AWS, as synthesized: its three methods (GET /review, GET and POST
 * /review/{proxy+}) are the only ones without IAM authorisation, each throttled on its own, and the
 * resource policy lets only them past the account denials; the OIDC secret is under the stack key,
 * readable by the api function alone. Both partitions synthesize with no unacknowledged cdk-nag
 * finding and pass cfn-lint.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  apiMethods,
  type CfnResource,
  COMMERCIAL_REGION,
  cfnLint,
  functionResource,
  GOVCLOUD_REGION,
  property,
  readViolations,
  resourcesOfType,
  SYNTH_TIMEOUT_MS,
  type Synthesized,
  synthGateway,
} from './synth.ts';

const BASE_URL = 'https://approvals.example.gov';

describe.each([COMMERCIAL_REGION, GOVCLOUD_REGION])('Review page on AWS (%s)', (region) => {
  let synth: Synthesized;

  beforeAll(() => {
    synth = synthGateway({
      region,
      stackProps: { reviewPage: { baseUrl: BASE_URL, stepUpMaxAgeSeconds: 600 } },
    });
  }, SYNTH_TIMEOUT_MS);

  it('synthesizes with no unacknowledged cdk-nag finding', () => {
    expect(readViolations(synth.outdir)).toEqual([]);
  });

  it('leaves only the review page methods without IAM authorisation', () => {
    const open = apiMethods(synth.json)
      .filter((m) => m.auth !== 'AWS_IAM')
      .map((m) => `${m.httpMethod} ${m.path}`)
      .sort();
    expect(open).toEqual(['GET /review', 'GET /review/{proxy+}', 'POST /review/{proxy+}']);
  });

  it('lets only the review page past the account denials, each method throttled on its own', () => {
    const [, stage] = resourcesOfType(synth.json, 'AWS::ApiGateway::Stage')[0] as [string, CfnResource];
    const settings = property<Record<string, unknown>[]>(stage, 'MethodSettings');
    expect(settings).toContainEqual(
      expect.objectContaining({
        ResourcePath: '/~1review~1{proxy+}',
        HttpMethod: 'POST',
        ThrottlingRateLimit: 20,
      }),
    );
    const [, api] = resourcesOfType(synth.json, 'AWS::ApiGateway::RestApi')[0] as [string, CfnResource];
    const statements = property<{ Statement: Record<string, unknown>[] }>(api, 'Policy').Statement;
    for (const deny of statements.filter((s) => s.Effect === 'Deny')) {
      expect(deny.NotResource).toEqual([
        'execute-api:/*/POST/v1/integrations/*',
        'execute-api:/*/*/review',
        'execute-api:/*/*/review/*',
      ]);
    }
    const openToAnyone = statements.filter(
      (s) => s.Effect === 'Allow' && JSON.stringify(s.Principal) === JSON.stringify({ AWS: '*' }),
    );
    expect(openToAnyone.flatMap((s) => [s.Resource].flat())).toEqual([
      'execute-api:/*/GET/review',
      'execute-api:/*/GET/review/*',
      'execute-api:/*/POST/review/*',
    ]);
  });

  it('gives the api function the OIDC secret, and every card sender the page URL', () => {
    const [[secretId, secret]] = resourcesOfType(synth.json, 'AWS::SecretsManager::Secret') as [
      [string, CfnResource],
    ];
    expect(property(secret, 'KmsKeyId')).toBeDefined();
    const envOf = (id: 'ApiFunction' | 'WorkflowFunction' | 'SweeperFunction') =>
      property<{ Variables: Record<string, unknown> }>(functionResource(synth, id).resource, 'Environment')
        .Variables;
    expect(envOf('ApiFunction')).toMatchObject({
      REVIEW_OIDC_SECRET_ARN: { Ref: secretId },
      REVIEW_BASE_URL: BASE_URL,
      REVIEW_STEP_UP_MAX_AGE_SECONDS: '600',
    });
    for (const id of ['WorkflowFunction', 'SweeperFunction'] as const) {
      expect(envOf(id).REVIEW_BASE_URL).toBe(BASE_URL);
      expect(envOf(id).REVIEW_OIDC_SECRET_ARN).toBeUndefined();
    }
    const reads = resourcesOfType(synth.json, 'AWS::IAM::ManagedPolicy')
      .flatMap(([, p]) => property<{ Statement: Record<string, unknown>[] }>(p, 'PolicyDocument').Statement)
      .filter((s) => s.Sid === 'ReadReviewPageSecret');
    expect(reads).toHaveLength(1);
  });

  it('passes cfn-lint for the region', async () => {
    expect(await cfnLint(synth, region)).toEqual([]);
  }, 180_000);
});

it('refuses a base URL that is not https, saying what to give', () => {
  expect(() =>
    synthGateway({
      region: COMMERCIAL_REGION,
      stackProps: { reviewPage: { baseUrl: 'http://approvals.example.gov' } },
    }),
  ).toThrow(/reviewPage.baseUrl must be an https URL/);
});
