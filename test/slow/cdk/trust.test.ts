/** The API's resource policy and the api function's caller mapping agree on who may arrive. */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  apiEnvironment,
  COMMERCIAL_REGION,
  onlyResourceOfType,
  SYNTH_TIMEOUT_MS,
  type Synthesized,
  synthGateway,
} from './synth.ts';

const PARTNER = '222222222222';
const ORG = 'o-abcdef1234';

interface Statement {
  Sid: string;
  Effect: string;
  Principal: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

function statements(synth: Synthesized): Statement[] {
  const [, api] = onlyResourceOfType(synth.json, 'AWS::ApiGateway::RestApi');
  const policy = api.Properties?.Policy as { Statement: Statement[] } | undefined;
  if (!policy) throw new Error('the REST API has no resource policy');
  return policy.Statement;
}

const OWN_ACCOUNT = { Ref: 'AWS::AccountId' };

describe('who may call the API', () => {
  let plain: Synthesized;
  let crossAccount: Synthesized;

  beforeAll(() => {
    // Both synthesize with cdk-nag on: a finding fails synthGateway.
    plain = synthGateway({ region: COMMERCIAL_REGION });
    crossAccount = synthGateway({
      region: COMMERCIAL_REGION,
      stackProps: { trustedAccountIds: [PARTNER], principalOrgId: ORG, identityCenterUsers: false },
    });
  }, SYNTH_TIMEOUT_MS * 2);

  it('accepts only the stack’s own account by default, in the resource policy and in the function', () => {
    const [allow, deny, ...rest] = statements(plain);
    expect(rest).toEqual([]);
    expect(allow).toMatchObject({ Sid: 'AllowListedAccounts', Effect: 'Allow' });
    expect(JSON.stringify(allow?.Principal)).toContain('AWS::AccountId');
    expect(deny).toMatchObject({
      Sid: 'DenyOtherAccounts',
      Effect: 'Deny',
      Condition: { StringNotEquals: { 'aws:PrincipalAccount': [OWN_ACCOUNT] } },
    });
    expect(apiEnvironment(plain)).toMatchObject({ TRUSTED_ACCOUNT_IDS: '', IDENTITY_CENTER_USERS: 'true' });
  });

  it('adds listed accounts and the organization condition, and tells the function the same list', () => {
    const byId = Object.fromEntries(statements(crossAccount).map((s) => [s.Sid, s]));
    expect(JSON.stringify(byId.AllowListedAccounts?.Principal)).toContain(PARTNER);
    expect(byId.DenyOtherAccounts?.Condition).toEqual({
      StringNotEquals: { 'aws:PrincipalAccount': [OWN_ACCOUNT, PARTNER] },
    });
    expect(byId.DenyOutsideOrganization).toMatchObject({
      Effect: 'Deny',
      Condition: { StringNotEquals: { 'aws:PrincipalOrgID': ORG } },
    });
    expect(apiEnvironment(crossAccount)).toMatchObject({
      TRUSTED_ACCOUNT_IDS: PARTNER,
      IDENTITY_CENTER_USERS: 'false',
    });
  });

  it(
    'refuses an account list or organization id it cannot honour',
    () => {
      expect(() =>
        synthGateway({ region: COMMERCIAL_REGION, stackProps: { trustedAccountIds: ['12345'] } }),
      ).toThrow(/"12345", which is not a 12-digit AWS account id/);
      expect(() =>
        synthGateway({ region: COMMERCIAL_REGION, stackProps: { principalOrgId: 'org-1' } }),
      ).toThrow(/not an AWS Organizations id/);
      expect(() =>
        synthGateway({
          region: COMMERCIAL_REGION,
          stackProps: { identityCenterAccountIds: ['222222222222'] },
        }),
      ).toThrow(/"222222222222", which is not in trustedAccountIds/);
    },
    SYNTH_TIMEOUT_MS,
  );
});
