/**
 * Slack on AWS, as synthesized: Slack's interactivity callback is the only API method without IAM
 * authorisation, with its own throttling and a resource policy that lets it (and only it) through;
 * the Slack secret is encrypted with the stack's key and readable by the two functions that use
 * it. Both partitions synthesize with no unacknowledged cdk-nag finding and pass cfn-lint.
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

const CHANNEL = 'C0APPROVALS';
const TEAM = 'T0WORKSPACE';

describe.each([COMMERCIAL_REGION, GOVCLOUD_REGION])('Slack on AWS (%s)', (region) => {
  let synth: Synthesized;

  beforeAll(() => {
    synth = synthGateway({ region, stackProps: { slack: { channel: CHANNEL, teamId: TEAM } } });
  }, SYNTH_TIMEOUT_MS);

  it('synthesizes with no unacknowledged cdk-nag finding', () => {
    expect(readViolations(synth.outdir)).toEqual([]);
  });

  it('leaves only the Slack interactivity method without IAM authorisation', () => {
    const all = apiMethods(synth.json);
    const open = all.filter((m) => m.auth !== 'AWS_IAM');
    expect(open).toEqual([{ path: '/v1/integrations/slack/interactions', httpMethod: 'POST', auth: 'NONE' }]);
    expect(
      all
        .filter((m) => m.auth === 'AWS_IAM')
        .map((m) => m.path)
        .sort(),
    ).toEqual(['/', '/{proxy+}']);
  });

  it('throttles the Slack route on its own and lets only it past the account denials', () => {
    const [, stage] = resourcesOfType(synth.json, 'AWS::ApiGateway::Stage')[0] as [string, CfnResource];
    const settings = property<Record<string, unknown>[]>(stage, 'MethodSettings');
    expect(settings).toContainEqual(
      expect.objectContaining({
        ResourcePath: '/~1v1~1integrations~1slack~1interactions',
        HttpMethod: 'POST',
        ThrottlingRateLimit: 10,
        ThrottlingBurstLimit: 20,
      }),
    );
    const [, api] = resourcesOfType(synth.json, 'AWS::ApiGateway::RestApi')[0] as [string, CfnResource];
    const statements = property<{ Statement: Record<string, unknown>[] }>(api, 'Policy').Statement;
    const open = 'execute-api:/*/POST/v1/integrations/slack/interactions';
    expect(statements).toContainEqual(
      expect.objectContaining({
        Sid: 'AllowChatCallbacks',
        Effect: 'Allow',
        Principal: { AWS: '*' },
        Resource: open,
      }),
    );
    // The denials skip the chat callback paths; among them only the Slack method is allowed to
    // anyone (the Teams method would add its own statement).
    for (const deny of statements.filter((s) => s.Effect === 'Deny')) {
      expect(deny.NotResource).toBe('execute-api:/*/POST/v1/integrations/*');
      expect(deny.Resource).toBeUndefined();
    }
    const openToAnyone = statements.filter(
      (s) => s.Effect === 'Allow' && JSON.stringify(s.Principal) === JSON.stringify({ AWS: '*' }),
    );
    expect(openToAnyone.map((s) => s.Resource)).toEqual([open]);
  });

  it('keeps the Slack credentials in a secret under the stack key, readable by the api, workflow and sweeper functions', () => {
    const [[secretId, secret]] = resourcesOfType(synth.json, 'AWS::SecretsManager::Secret') as [
      [string, CfnResource],
    ];
    expect(property(secret, 'KmsKeyId')).toBeDefined();
    // The sweeper re-posts cards the workflow's Notify could not, through the same channels.
    for (const id of ['ApiFunction', 'WorkflowFunction', 'SweeperFunction'] as const) {
      const env = property<{ Variables: Record<string, unknown> }>(
        functionResource(synth, id).resource,
        'Environment',
      ).Variables;
      expect(env.SLACK_SECRET_ARN).toEqual({ Ref: secretId });
      expect(env.SLACK_CHANNEL).toBe(CHANNEL);
      // Only the api function receives clicks, so only it checks the workspace.
      expect(env.SLACK_TEAM_ID).toBe(id === 'ApiFunction' ? TEAM : undefined);
    }
    const policies = resourcesOfType(synth.json, 'AWS::IAM::ManagedPolicy').flatMap(
      ([, p]) => property<{ Statement: Record<string, unknown>[] }>(p, 'PolicyDocument').Statement,
    );
    const reads = policies.filter((s) => s.Sid === 'ReadSlackSecret');
    expect(reads).toHaveLength(3);
    for (const read of reads)
      expect(read).toMatchObject({ Action: 'secretsmanager:GetSecretValue', Resource: { Ref: secretId } });
  });

  it('passes cfn-lint for the region', async () => {
    expect(await cfnLint(synth, region)).toEqual([]);
  }, 180_000);
});

it(
  'has no method without IAM authorisation when Slack is off',
  () => {
    const synth = synthGateway({ region: COMMERCIAL_REGION });
    expect(apiMethods(synth.json).every((m) => m.auth === 'AWS_IAM')).toBe(true);
    expect(resourcesOfType(synth.json, 'AWS::SecretsManager::Secret')).toEqual([]);
  },
  SYNTH_TIMEOUT_MS,
);

it(
  'refuses a Slack team id that is not a workspace or organisation id',
  () => {
    expect(() =>
      synthGateway({
        region: COMMERCIAL_REGION,
        stackProps: { slack: { channel: CHANNEL, teamId: 'workspace' } },
      }),
    ).toThrow(/slack.teamId must be a workspace id such as T0123ABCD.*got "workspace"/);
  },
  SYNTH_TIMEOUT_MS,
);
