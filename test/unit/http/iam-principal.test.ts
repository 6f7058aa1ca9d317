import { describe, expect, it } from 'vitest';
import { agentRolesOf, iamPrincipalMapper, parseAccountList } from '../../../functions/http/iam-principal.ts';

const API = '111111111111';
const PARTNER = '222222222222';
const STRANGER = '333333333333';
const SSO = 'AWSReservedSSO_DataOwner_0123456789abcdef';

const IDC_PARTNER = '444444444444';

const map = iamPrincipalMapper({
  trustedAccounts: [PARTNER, IDC_PARTNER],
  identityCenterAccounts: [IDC_PARTNER],
  agentRoles: {
    [`arn:aws:iam::${API}:role/agents/demo-exporter`]: 'agent:demo-exporter',
    [`arn:aws-us-gov:iam::${API}:role/ops-agent`]: 'agent:demo-ops',
    [`arn:aws:iam::${PARTNER}:role/partner-agent`]: 'agent:partner',
  },
});

describe('IAM caller → principal', () => {
  it.each([
    // Identity Center sessions are people, in every partition; the permission set does not matter.
    [
      'Identity Center, aws',
      `arn:aws:sts::${API}:assumed-role/${SSO}/alice@example.gov`,
      'user:alice@example.gov',
      'person',
    ],
    [
      'Identity Center, aws-us-gov',
      `arn:aws-us-gov:sts::${API}:assumed-role/${SSO}/alice@example.gov`,
      'user:alice@example.gov',
      'person',
    ],
    [
      'Identity Center, other permission set',
      `arn:aws:sts::${API}:assumed-role/AWSReservedSSO_ReadOnly_fedcba9876543210/Alice@Example.gov`,
      'user:alice@example.gov',
      'person',
    ],
    [
      'Identity Center, second user of one set',
      `arn:aws:sts::${API}:assumed-role/${SSO}/bob@example.gov`,
      'user:bob@example.gov',
      'person',
    ],
    [
      'Identity Center, a listed Identity Center account',
      `arn:aws:sts::${IDC_PARTNER}:assumed-role/${SSO}/carol`,
      'user:carol',
      'person',
    ],
    // A trusted account whose Identity Center is not listed: its admins could name a role
    // AWSReservedSSO_… and choose any session name, so the caller is that role, not a person.
    [
      'Identity Center role name in a trusted, unlisted account',
      `arn:aws:sts::${PARTNER}:assumed-role/${SSO}/carol`,
      `iam:arn:aws:iam::${PARTNER}:role/${SSO.toLowerCase()}`,
      'iam',
    ],
    // Declared agent roles are agents, whatever the session is called.
    [
      'agent role (path in declaration)',
      `arn:aws:sts::${API}:assumed-role/demo-exporter/bob@example.gov`,
      'agent:demo-exporter',
      'agent',
    ],
    [
      'agent role, other case',
      `arn:aws:sts::${API}:assumed-role/Demo-Exporter/i-0abc`,
      'agent:demo-exporter',
      'agent',
    ],
    [
      'agent role, aws-us-gov',
      `arn:aws-us-gov:sts::${API}:assumed-role/ops-agent/run-7`,
      'agent:demo-ops',
      'agent',
    ],
    [
      'agent role, trusted account',
      `arn:aws:sts::${PARTNER}:assumed-role/partner-agent/s1`,
      'agent:partner',
      'agent',
    ],
    [
      'agent role by role ARN',
      `arn:aws:iam::${API}:role/agents/demo-exporter`,
      'agent:demo-exporter',
      'agent',
    ],
    // Undeclared roles and IAM users stay iam: principals; the session name is dropped.
    [
      'undeclared role',
      `arn:aws:sts::${API}:assumed-role/Deployer/alice@example.gov`,
      `iam:arn:aws:iam::${API}:role/deployer`,
      'iam',
    ],
    [
      'declared name, other partition',
      `arn:aws-us-gov:sts::${API}:assumed-role/demo-exporter/s1`,
      `iam:arn:aws-us-gov:iam::${API}:role/demo-exporter`,
      'iam',
    ],
    // A role calling by its own ARN is named without its path, as its sessions are.
    [
      'role ARN with a path',
      `arn:aws:iam::${API}:role/ops/Deployer`,
      `iam:arn:aws:iam::${API}:role/deployer`,
      'iam',
    ],
    ['IAM user', `arn:aws:iam::${API}:user/ci/CI-Bot`, `iam:arn:aws:iam::${API}:user/ci/ci-bot`, 'iam'],
    [
      'IAM user, trusted account',
      `arn:aws:iam::${PARTNER}:user/ci-bot`,
      `iam:arn:aws:iam::${PARTNER}:user/ci-bot`,
      'iam',
    ],
    [
      'look-alike of an SSO role',
      `arn:aws:sts::${API}:assumed-role/AWSReservedSSO_x/alice@example.gov`,
      `iam:arn:aws:iam::${API}:role/awsreservedsso_x`,
      'iam',
    ],
  ])('%s', (_case, arn, principal, kind) => {
    expect(map(arn, API)).toEqual({ ok: true, principal, kind });
  });

  it.each([
    [
      'an account not listed',
      `arn:aws:sts::${STRANGER}:assumed-role/${SSO}/alice@example.gov`,
      /account 333333333333 is not trusted/,
    ],
    [
      'an IAM user of an account not listed',
      `arn:aws:iam::${STRANGER}:user/ci-bot`,
      /not trusted.*trustedAccountIds/,
    ],
    ['the root user', `arn:aws:iam::${API}:root`, /root user/],
    ['an S3 ARN', 'arn:aws:s3:::bucket', /not an IAM user, role or assumed-role ARN/],
    ['a short account', 'arn:aws:sts::1234:assumed-role/x/y', /not an IAM/],
    ['a group', `arn:aws:iam::${API}:group/admins`, /not an IAM/],
    ['an empty string', '', /not an IAM/],
    ['a principal id', 'user:bob@example.gov', /not an IAM/],
    ['a session with a trailing newline', `arn:aws:sts::${API}:assumed-role/${SSO}/alice\n`, /not an IAM/],
    [
      'an Identity Center name with a trailing dot (it would fold into another person)',
      `arn:aws:sts::${API}:assumed-role/${SSO}/alice.`,
      /not a canonical user name/,
    ],
    [
      'an Identity Center name with no canonical form',
      `arn:aws:sts::${API}:assumed-role/${SSO}/.@`,
      /Identity Center user name/,
    ],
  ])('refuses %s', (_case, arn, reason) => {
    const result = map(arn, API);
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.reason).toMatch(reason);
  });

  it('keeps Identity Center sessions as iam: principals when the deployer turns the mapping off', () => {
    const off = iamPrincipalMapper({ identityCenter: false });
    expect(off(`arn:aws:sts::${API}:assumed-role/${SSO}/alice@example.gov`, API)).toEqual({
      ok: true,
      principal: `iam:arn:aws:iam::${API}:role/${SSO.toLowerCase()}`,
      kind: 'iam',
    });
  });

  it('refuses a configuration it cannot honour', () => {
    expect(() => iamPrincipalMapper({ trustedAccounts: ['12345'] })).toThrow(/not a 12-digit/);
    expect(() => iamPrincipalMapper({ identityCenterAccounts: [PARTNER] })).toThrow(/not a trusted account/);
    expect(() => iamPrincipalMapper({ agentRoles: { 'arn:aws:iam::1:role/x': 'agent:x' } })).toThrow(
      /not an IAM role ARN/,
    );
    expect(() => parseAccountList('222222222222, nope')).toThrow(/"nope", which is not a 12-digit/);
    expect(parseAccountList(' 222222222222 ,333333333333,')).toEqual([PARTNER, STRANGER]);
    expect(parseAccountList(undefined)).toEqual([]);
  });

  it('reads the agent roles from policy data', () => {
    expect(
      agentRolesOf({
        groups: {},
        identities: {},
        agents: { 'agent:a': { owners: ['user:o@example.gov'], aws_roles: ['arn:aws:iam::1:role/a'] } },
      }),
    ).toEqual({ 'arn:aws:iam::1:role/a': 'agent:a' });
  });
});
