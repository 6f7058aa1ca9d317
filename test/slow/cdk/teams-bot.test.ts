/**
 * The Teams bot in the stack: only its messaging endpoint is open without SigV4 (POST, its own
 * method), the resource policy lets the channel reach it and nothing else, and the api and
 * workflow functions get the bot's settings and may read exactly its secret.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  apiEnvironment,
  type CfnResource,
  COMMERCIAL_REGION,
  GOVCLOUD_REGION,
  resourcesOfType,
  SYNTH_TIMEOUT_MS,
  type Synthesized,
  synthGateway,
} from './synth.ts';

const APP_ID = '6f1d3c2a-0b7e-4a51-9d8e-2c4b7a9e1f30';
const SECRET = 'arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:ala/teams-bot-AbCdEf';

interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource?: unknown;
  NotResource?: unknown;
}

const methods = (synth: Synthesized) =>
  resourcesOfType(synth.json, 'AWS::ApiGateway::Method').map(
    ([, r]) => r.Properties as Record<string, unknown>,
  );

function statementsGranting(synth: Synthesized, action: string): { roles: unknown; statement: Statement }[] {
  return resourcesOfType(synth.json, 'AWS::IAM::ManagedPolicy').flatMap(
    ([, resource]: [string, CfnResource]) => {
      const props = resource.Properties as { Roles?: unknown; PolicyDocument: { Statement: Statement[] } };
      return props.PolicyDocument.Statement.filter((s) => [s.Action].flat().includes(action)).map(
        (statement) => ({
          roles: props.Roles,
          statement,
        }),
      );
    },
  );
}

describe('the Teams bot in the stack', () => {
  let off: Synthesized;
  let on: Synthesized;

  beforeAll(() => {
    // cdk-nag runs in both: an unacknowledged finding (an unauthenticated method) fails the synth.
    off = synthGateway({ region: GOVCLOUD_REGION });
    on = synthGateway({
      region: GOVCLOUD_REGION,
      stackProps: {
        teams: {
          appId: APP_ID,
          appSecretArn: SECRET,
          cloud: 'gcchigh',
          tenantId: 'tenant-1',
          conversationId: '19:a@thread.tacv2',
        },
      },
    });
  }, SYNTH_TIMEOUT_MS * 2);

  it('has no unauthenticated method without a Teams bot', () => {
    expect(methods(off).map((m) => m.AuthorizationType)).toEqual(['AWS_IAM', 'AWS_IAM']);
    expect(statementsGranting(off, 'secretsmanager:GetSecretValue')).toEqual([]);
  });

  it('opens exactly POST /v1/integrations/teams/messages without IAM, and keeps everything else on SigV4', () => {
    const open = methods(on).filter((m) => m.AuthorizationType === 'NONE');
    expect(open).toHaveLength(1);
    expect(open[0]?.HttpMethod).toBe('POST');
    const resources = resourcesOfType(on.json, 'AWS::ApiGateway::Resource').map(
      ([, r]) => r.Properties?.PathPart,
    );
    expect(resources).toEqual(expect.arrayContaining(['v1', 'integrations', 'teams', 'messages']));
    expect(methods(on).filter((m) => m.AuthorizationType === 'AWS_IAM')).toHaveLength(2);
  });

  const policyOf = (synth: Synthesized): Statement[] => {
    const [[, api]] = resourcesOfType(synth.json, 'AWS::ApiGateway::RestApi') as [[string, CfnResource]];
    return (api.Properties as { Policy: { Statement: Statement[] } }).Policy.Statement;
  };

  it('opens the messaging endpoint, and only it, to the channel in the resource policy', () => {
    const open = policyOf(on).filter((s) => s.Effect === 'Allow' && JSON.stringify(s).includes('"AWS":"*"'));
    expect(open).toEqual([
      {
        Sid: 'AllowTeamsChannel',
        Effect: 'Allow',
        Principal: { AWS: '*' },
        Action: 'execute-api:Invoke',
        Resource: 'execute-api:/*/POST/v1/integrations/teams/messages',
      },
    ]);
    // Without a bot nothing is open to anyone outside the listed accounts.
    expect(
      policyOf(off).filter((s) => s.Effect === 'Allow' && JSON.stringify(s).includes('"AWS":"*"')),
    ).toEqual([]);
    const deny = policyOf(on).find((s) => s.Sid === 'DenyOtherAccounts');
    expect(deny).toMatchObject({ Effect: 'Deny', NotResource: 'execute-api:/*/POST/v1/integrations/*' });
  });

  it('gives the api, workflow and sweeper functions the bot’s settings and its secret, and nothing more', () => {
    expect(apiEnvironment(on)).toMatchObject({
      TEAMS_APP_ID: APP_ID,
      TEAMS_APP_SECRET_ARN: SECRET,
      TEAMS_CLOUD: 'gcchigh',
      TEAMS_TENANT_ID: 'tenant-1',
      TEAMS_CONVERSATION_ID: '19:a@thread.tacv2',
    });
    const grants = statementsGranting(on, 'secretsmanager:GetSecretValue');
    // The sweeper re-posts cards the workflow's Notify could not, through the same channels.
    expect(grants).toHaveLength(3);
    for (const { statement } of grants) {
      expect(statement).toEqual({
        Sid: 'ReadTeamsBotSecret',
        Effect: 'Allow',
        Action: 'secretsmanager:GetSecretValue',
        Resource: SECRET,
      });
    }
  });

  it(
    'refuses an app id that is not a GUID and a secret ARN of another service',
    () => {
      expect(() =>
        synthGateway({
          region: COMMERCIAL_REGION,
          stackProps: { teams: { appId: 'my-bot', appSecretArn: SECRET } },
        }),
      ).toThrow(/not an Entra application \(client\) id/);
      expect(() =>
        synthGateway({
          region: COMMERCIAL_REGION,
          stackProps: {
            teams: { appId: APP_ID, appSecretArn: 'arn:aws:ssm:us-east-1:123456789012:parameter/x' },
          },
        }),
      ).toThrow(/not a Secrets Manager secret ARN/);
    },
    SYNTH_TIMEOUT_MS,
  );
});
