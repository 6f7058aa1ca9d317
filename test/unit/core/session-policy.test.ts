import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GrantRefusedError } from '../../../functions/core/errors.ts';
import type { GrantSpec } from '../../../functions/core/model.ts';
import {
  buildSessionPolicy,
  MIN_SESSION_SECONDS,
  resourceServicesOf,
  SESSION_POLICY_MAX_CHARS,
} from '../../../functions/core/session-policy.ts';
import { evaluate, wildcard } from '../../support/iam-evaluator.ts';

/** An IAM policy variable, spelled without a template literal. */
const POLICY_VARIABLE = ['$', '{aws:username}'].join('');

const ISSUED = new Date('2026-03-01T12:00:00.000Z');

const s3Grant: GrantSpec = {
  type: 'aws_sts',
  role: 'ala-exports',
  actions: ['s3:GetObject'],
  resources: ['arn:aws:s3:::exports/report.csv'],
  window_seconds: 300,
};

function refusal(grant: GrantSpec): GrantRefusedError {
  try {
    buildSessionPolicy(grant, ISSUED);
  } catch (error) {
    if (error instanceof GrantRefusedError) return error;
    throw error;
  }
  throw new Error('the grant was not refused');
}

const SERVICES = ['s3', 'dynamodb', 'ec2', 'kms', 'lambda'] as const;
const name = fc.stringMatching(/^[A-Z][A-Za-z0-9]{0,30}$/);
const arnPart = fc.stringMatching(/^[a-z0-9][a-z0-9._/-]{0,60}$/);

/** Grants as a policy would state them: one service, literal actions and ARNs, a window. */
const grants = fc
  .record({
    service: fc.constantFrom(...SERVICES),
    partition: fc.constantFrom('aws', 'aws-us-gov'),
    actions: fc.uniqueArray(name, { minLength: 1, maxLength: 6 }),
    resources: fc.uniqueArray(arnPart, { minLength: 1, maxLength: 40 }),
    window: fc.integer({ min: 1, max: 3600 }),
  })
  .map(
    ({ service, partition, actions, resources, window }): GrantSpec => ({
      type: 'aws_sts',
      role: 'grant-role',
      actions: actions.map((a) => `${service}:${a}`),
      resources: resources.map((r) => `arn:${partition}:${service}:us-gov-west-1:123456789012:${r}`),
      window_seconds: window,
    }),
  );

/** Grants with many long ARNs, spread evenly across both sides of STS's limit. */
const largeGrants = fc
  .record({
    grant: grants,
    count: fc.integer({ min: 1, max: 40 }),
    partition: fc.constantFrom('aws', 'aws-us-gov'),
  })
  .chain(({ grant, count, partition }) =>
    fc
      .uniqueArray(fc.stringMatching(/^[a-z0-9]{40,60}$/), { minLength: count, maxLength: count })
      .map((keys): GrantSpec => {
        const service = String(grant.actions?.[0]).split(':')[0];
        return { ...grant, resources: keys.map((k) => `arn:${partition}:${service}:::${k}`) };
      }),
  );

const issuedAt = fc.date({
  min: new Date('2020-01-01T00:00:00Z'),
  max: new Date('2040-01-01T00:00:00Z'),
  noInvalidDate: true,
});

describe('Function: buildSessionPolicy', () => {
  it('allows exactly the approved call on the approved resource, and nothing else or later', () => {
    const { document, usableUntil, durationSeconds } = buildSessionPolicy(s3Grant, ISSUED);
    const call = { action: 's3:GetObject', resource: 'arn:aws:s3:::exports/report.csv' };
    expect(evaluate(document, { ...call, time: ISSUED })).toBe('allow');
    expect(evaluate(document, { ...call, time: new Date(ISSUED.getTime() + 299_000) })).toBe('allow');
    expect(evaluate(document, { ...call, action: 's3:PutObject', time: ISSUED })).toBe('deny');
    expect(evaluate(document, { ...call, action: 's3:GetObjectAcl', time: ISSUED })).toBe('deny');
    expect(evaluate(document, { ...call, resource: 'arn:aws:s3:::exports/other.csv', time: ISSUED })).toBe(
      'deny',
    );
    expect(evaluate(document, { ...call, resource: 'arn:aws:s3:::exports/report.csv2', time: ISSUED })).toBe(
      'deny',
    );
    expect(evaluate(document, { ...call, time: usableUntil })).toBe('deny');
    expect(evaluate(document, { ...call, time: new Date(ISSUED.getTime() + 300_000) })).toBe('deny');
    expect(durationSeconds).toBe(MIN_SESSION_SECONDS);
  });

  it('asks STS for the window when it is longer than STS minimum session', () => {
    expect(buildSessionPolicy({ ...s3Grant, window_seconds: 3600 }, ISSUED).durationSeconds).toBe(3600);
  });

  it('hashes the exact JSON sent to STS, which is minified', () => {
    const policy = buildSessionPolicy(s3Grant, ISSUED);
    expect(policy.json).toBe(JSON.stringify(JSON.parse(policy.json)));
    expect(policy.hash).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(buildSessionPolicy({ ...s3Grant, actions: ['s3:GetObjectAcl'] }, ISSUED).hash).not.toBe(
      policy.hash,
    );
  });

  it('is never broader than the grant: an allowed call names a granted action and resource, before the window ends', () => {
    fc.assert(
      fc.property(
        grants,
        issuedAt,
        fc.string(),
        fc.nat(),
        fc.integer({ min: -10, max: 4000 }),
        (grant, at, noise, pick, offset) => {
          let policy: ReturnType<typeof buildSessionPolicy>;
          try {
            policy = buildSessionPolicy(grant, at);
          } catch (error) {
            // Only size may refuse these grants.
            expect(error).toBeInstanceOf(GrantRefusedError);
            expect((error as GrantRefusedError).code).toBe('grant_policy_too_large');
            return;
          }
          const actions = grant.actions ?? [];
          const resources = grant.resources ?? [];
          const time = new Date(at.getTime() + offset * 1000);
          const probes = [
            {
              action: actions[pick % actions.length] as string,
              resource: resources[pick % resources.length] as string,
            },
            { action: `${actions[0]}${noise}`, resource: resources[0] as string },
            { action: actions[0] as string, resource: `${resources[0]}${noise}` },
            { action: noise, resource: noise },
          ];
          for (const probe of probes) {
            if (evaluate(policy.document, { ...probe, time }) === 'allow') {
              expect(actions.some((a) => a.toLowerCase() === probe.action.toLowerCase())).toBe(true);
              expect(resources).toContain(probe.resource);
              expect(time.getTime()).toBeLessThan(at.getTime() + (grant.window_seconds ?? 0) * 1000);
            }
          }
          // Every granted pair is allowed at issue, so the policy is not narrower either.
          expect(evaluate(policy.document, { ...probes[0], time: at } as never)).toBe('allow');
        },
      ),
      { numRuns: 300 },
    );
  });

  it('is always time-bounded: one Allow, ending at issue + window, denying from then on', () => {
    fc.assert(
      fc.property(grants, issuedAt, (grant, at) => {
        fc.pre(JSON.stringify(grant).length < SESSION_POLICY_MAX_CHARS - 400);
        const policy = buildSessionPolicy(grant, at);
        const window = (grant.window_seconds ?? 0) * 1000;
        expect(policy.document.Statement).toHaveLength(1);
        const until = Date.parse(policy.document.Statement[0].Condition.DateLessThan['aws:CurrentTime']);
        expect(until).toBeLessThanOrEqual(at.getTime() + window);
        expect(until).toBeGreaterThan(at.getTime() + window - 1000);
        const call = { action: grant.actions?.[0] as string, resource: grant.resources?.[0] as string };
        expect(evaluate(policy.document, { ...call, time: new Date(until) })).toBe('deny');
        expect(evaluate(policy.document, { ...call, time: new Date(until + 86_400_000) })).toBe('deny');
        expect(policy.durationSeconds).toBeGreaterThanOrEqual(Math.max(MIN_SESSION_SECONDS, window / 1000));
      }),
      { numRuns: 300 },
    );
  });

  it(`is always within STS's ${SESSION_POLICY_MAX_CHARS} characters, and refuses a grant that would not fit`, () => {
    let refused = 0;
    let built = 0;
    fc.assert(
      fc.property(fc.oneof(grants, largeGrants), issuedAt, (grant, at) => {
        try {
          expect(buildSessionPolicy(grant, at).json.length).toBeLessThanOrEqual(SESSION_POLICY_MAX_CHARS);
          built++;
        } catch (error) {
          expect((error as GrantRefusedError).code).toBe('grant_policy_too_large');
          expect((error as Error).message).toContain(`limit of ${SESSION_POLICY_MAX_CHARS}`);
          refused++;
        }
      }),
      { numRuns: 500 },
    );
    // The generator reaches both sides of the limit, or the property proves little.
    expect(built).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);
  });

  it('refuses any wildcard action or resource the grant does not state in its wildcards', () => {
    fc.assert(
      fc.property(grants, fc.constantFrom('*', '?'), fc.boolean(), (grant, mark, inAction) => {
        const actions = [...(grant.actions ?? [])];
        const resources = [...(grant.resources ?? [])];
        if (inAction) actions[0] = `${actions[0]}${mark}`;
        else resources[0] = `${resources[0]}${mark}`;
        const error = refusal({ ...grant, actions, resources });
        expect(error.code).toBe('grant_wildcard_not_stated');
        expect(error.message).toContain(mark);
      }),
    );
    expect(refusal({ ...s3Grant, actions: ['s3:*'] }).code).toBe('grant_wildcard_not_stated');
    expect(refusal({ ...s3Grant, resources: ['*'] }).code).toBe('grant_wildcard_not_stated');
    expect(refusal({ ...s3Grant, resources: [`arn:aws:s3:::exports/${POLICY_VARIABLE}`] }).code).toBe(
      'grant_wildcard_not_stated',
    );
  });

  it('keeps a wildcard the grant states, and matches it as IAM would', () => {
    const stated = {
      ...s3Grant,
      resources: ['arn:aws:s3:::exports/2026-03-*.csv'],
      wildcards: ['arn:aws:s3:::exports/2026-03-*.csv'],
    };
    const { document } = buildSessionPolicy(stated, ISSUED);
    expect(
      evaluate(document, {
        action: 's3:GetObject',
        resource: 'arn:aws:s3:::exports/2026-03-01.csv',
        time: ISSUED,
      }),
    ).toBe('allow');
    expect(
      evaluate(document, {
        action: 's3:GetObject',
        resource: 'arn:aws:s3:::exports/2026-04-01.csv',
        time: ISSUED,
      }),
    ).toBe('deny');
  });

  it('refuses actions or resources of another service than the grant', () => {
    fc.assert(
      fc.property(grants, fc.constantFrom(...SERVICES), fc.boolean(), (grant, other, inAction) => {
        const service = String(grant.actions?.[0]).split(':')[0] as string;
        fc.pre(other !== service);
        fc.pre(inAction || !resourceServicesOf(service).includes(other));
        const actions = [...(grant.actions ?? [])];
        const resources = [...(grant.resources ?? [])];
        if (inAction) actions.push(`${other}:DoSomething`);
        else resources.push(`arn:aws:${other}:us-east-1:123456789012:thing`);
        const error = refusal({ ...grant, actions, resources });
        expect(error.code).toBe('grant_foreign_service');
        expect(error.message).toContain(other);
      }),
    );
  });

  it('lets sts:AssumeRole name the IAM role it assumes, and nothing of another service', () => {
    const assume = {
      ...s3Grant,
      actions: ['sts:AssumeRole'],
      resources: ['arn:aws-us-gov:iam::123456789012:role/deployer'],
    };
    const { document } = buildSessionPolicy(assume, ISSUED);
    const role = 'arn:aws-us-gov:iam::123456789012:role/deployer';
    expect(evaluate(document, { action: 'sts:AssumeRole', resource: role, time: ISSUED })).toBe('allow');
    expect(evaluate(document, { action: 'sts:AssumeRole', resource: `${role}-admin`, time: ISSUED })).toBe(
      'deny',
    );
    expect(refusal({ ...assume, resources: ['arn:aws-us-gov:s3:::fin-ledger-prod'] }).code).toBe(
      'grant_foreign_service',
    );
  });

  it('refuses a grant without role, actions, resources or window, or with a non-ARN resource', () => {
    const { role: _role, ...noRole } = s3Grant;
    expect(refusal(noRole).code).toBe('grant_incomplete');
    expect(refusal({ ...s3Grant, actions: [] }).code).toBe('grant_incomplete');
    expect(refusal({ ...s3Grant, resources: ['exports/report.csv'] }).code).toBe('grant_incomplete');
    expect(refusal({ ...s3Grant, actions: ['GetObject'] }).code).toBe('grant_incomplete');
  });
});

describe('Function: wildcard (the test evaluator)', () => {
  it('matches * and ? as IAM does, and nothing else specially', () => {
    expect(wildcard('s3:Get*', 's3:GetObject', true)).toBe(true);
    expect(wildcard('s3:Get*', 'S3:GETOBJECT', true)).toBe(true);
    expect(wildcard('arn:aws:s3:::b/?.csv', 'arn:aws:s3:::b/a.csv', false)).toBe(true);
    expect(wildcard('arn:aws:s3:::b/?.csv', 'arn:aws:s3:::b/ab.csv', false)).toBe(false);
    expect(wildcard('arn:aws:s3:::b/a.csv', 'arn:aws:s3:::b/aXcsv', false)).toBe(false);
    expect(wildcard('arn:aws:s3:::B', 'arn:aws:s3:::b', false)).toBe(false);
  });
});
