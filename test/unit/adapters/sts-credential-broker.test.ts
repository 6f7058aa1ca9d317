import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  roleArn,
  sessionNameOf,
  sourceIdentityOf,
} from '../../../functions/adapters/aws/sts-credential-broker.ts';
import { GrantRefusedError } from '../../../functions/core/errors.ts';

describe('Module: sts-credential-broker naming', () => {
  it('resolves role names in the configured partition and account, and keeps ARNs', () => {
    const where = { partition: 'aws-us-gov', accountId: '123456789012' };
    expect(roleArn('approved-data-export', where)).toBe(
      'arn:aws-us-gov:iam::123456789012:role/approved-data-export',
    );
    expect(roleArn('ala/approved-data-export', where)).toBe(
      'arn:aws-us-gov:iam::123456789012:role/ala/approved-data-export',
    );
    expect(roleArn('arn:aws-us-gov:iam::210987654321:role/x', where)).toBe(
      'arn:aws-us-gov:iam::210987654321:role/x',
    );
    expect(() => roleArn('not a role', where)).toThrow(GrantRefusedError);
  });

  it("sanitises any principal to STS's SourceIdentity rules: 2–64 characters of [\\w+=,.@-]", () => {
    expect(sourceIdentityOf('agent:demo-exporter')).toBe('agent.demo-exporter');
    expect(sourceIdentityOf('user:alice@example.gov')).toBe('user.alice@example.gov');
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (principal) => {
        const identity = sourceIdentityOf(principal);
        expect(identity).toMatch(/^[\w+=,.@-]{2,64}$/);
        expect(identity.toLowerCase().startsWith('aws:')).toBe(false);
      }),
    );
  });

  it("derives a RoleSessionName within STS's rules from the request id", () => {
    expect(sessionNameOf('ar_01JD3Z6Q0M8Y3W8T5V9K2N4P6R')).toBe('ala-ar_01JD3Z6Q0M8Y3W8T5V9K2N4P6R');
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (id) => {
        expect(sessionNameOf(id)).toMatch(/^[\w+=,.@-]{2,64}$/);
      }),
    );
  });
});
