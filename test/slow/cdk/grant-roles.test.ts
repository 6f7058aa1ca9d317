/**
 * allowedGrantRoles: the api function may assume exactly the allowed roles (with the session tags
 * and source identity the broker sets), is told them, and cdk-nag stays clean.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ENV } from '../../../functions/handlers/env.ts';
import {
  COMMERCIAL_REGION,
  property,
  resourcesOfType,
  SYNTH_TIMEOUT_MS,
  type Synthesized,
  synthGateway,
} from './synth.ts';

interface Statement {
  readonly Sid?: string;
  readonly Action: string | string[];
  readonly Resource: unknown;
}

const OTHER_ACCOUNT_ROLE = 'arn:aws:iam::210987654321:role/ala/approved-infra-change';

describe('ApprovalsGatewayStack with allowedGrantRoles', () => {
  let synth: Synthesized;

  beforeAll(() => {
    // synthGateway fails on any unacknowledged cdk-nag finding, so a clean synth is the nag check.
    synth = synthGateway({
      region: COMMERCIAL_REGION,
      stackProps: { allowedGrantRoles: ['approved-data-export', OTHER_ACCOUNT_ROLE] },
    });
  }, SYNTH_TIMEOUT_MS);

  const stsStatements = () =>
    resourcesOfType(synth.json, 'AWS::IAM::ManagedPolicy').flatMap(([id, resource]) =>
      property<{ Statement: Statement[] }>(resource, 'PolicyDocument')
        .Statement.filter((s) => JSON.stringify(s.Action).includes('sts:'))
        .map((s) => ({ id, statement: s })),
    );

  it('lets only the api function assume, tag and set the source identity, on exactly the allowed roles', () => {
    const found = stsStatements();
    expect(found).toHaveLength(1);
    const { id, statement } = found[0] as { id: string; statement: Statement };
    expect(id).toMatch(/^ApiFunction/);
    expect([statement.Action].flat().sort()).toEqual([
      'sts:AssumeRole',
      'sts:SetSourceIdentity',
      'sts:TagSession',
    ]);
    const resources = [statement.Resource].flat();
    expect(resources).toHaveLength(2);
    expect(resources).toContainEqual(OTHER_ACCOUNT_ROLE);
    const own = JSON.stringify(resources.find((r) => r !== OTHER_ACCOUNT_ROLE));
    expect(own).toContain('AWS::Partition');
    expect(own).toContain('AWS::AccountId');
    expect(own).toContain(':role/approved-data-export');
    expect(JSON.stringify(resources)).not.toContain('*');
  });

  it('tells the api function the allowed roles and where role names resolve', () => {
    const [, api] =
      resourcesOfType(synth.json, 'AWS::Lambda::Function').find(([id]) => id.startsWith('ApiFunction')) ?? [];
    const variables = JSON.stringify(api?.Properties?.Environment);
    expect(variables).toContain(ENV.grantRoleArns);
    expect(variables).toContain(ENV.grantPartition);
    expect(variables).toContain(ENV.grantAccount);
  });

  it('refuses a wildcard or malformed role at synth time', () => {
    expect(() =>
      synthGateway({ region: COMMERCIAL_REGION, stackProps: { allowedGrantRoles: ['approved-*'] } }),
    ).toThrow(/not an IAM role name/);
    expect(() =>
      synthGateway({
        region: COMMERCIAL_REGION,
        stackProps: { allowedGrantRoles: ['arn:aws:iam::1:role/x'] },
      }),
    ).toThrow(/not an IAM role ARN/);
  });
});
