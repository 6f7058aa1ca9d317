import { describe, expect, it } from 'vitest';
import type { PolicyDecision } from '../../../functions/core/model.ts';
import { PolicyInputError } from '../../../functions/policy/errors.ts';
import { formatDecision, parsePolicyInput } from '../../../functions/policy/explain.ts';

const NOW = new Date('2026-05-01T12:00:00.000Z');

describe('Function: parsePolicyInput', () => {
  it('fills in now when the file has none', () => {
    const parsed = parsePolicyInput('{"action": {"name": "logs.tail"}}', { source: 'in.json', now: NOW });
    expect(parsed).toEqual({
      input: { action: { name: 'logs.tail' }, now: '2026-05-01T12:00:00.000Z' },
      nowFilled: true,
    });
  });

  it('keeps the now of the file', () => {
    const parsed = parsePolicyInput('{"now": "2025-01-01T00:00:00Z"}', { source: 'in.json', now: NOW });
    expect(parsed).toEqual({ input: { now: '2025-01-01T00:00:00Z' }, nowFilled: false });
  });

  it('names the file and says what to fix when the JSON is broken', () => {
    const parsing = () => parsePolicyInput('{"action": ', { source: 'request.json', now: NOW });
    expect(parsing).toThrow(PolicyInputError);
    expect(parsing).toThrow(
      /^request\.json is not valid JSON \(.+\)\. Fix the file: it must hold one JSON object/,
    );
  });

  it.each([
    ['[]', 'an array'],
    ['null', 'null'],
    ['"data.export"', 'a string'],
  ])('refuses %s, which is not an object', (text, got) => {
    expect(() => parsePolicyInput(text, { source: 'in.json', now: NOW })).toThrow(`it holds ${got}`);
  });
});

describe('Function: formatDecision', () => {
  const decision: PolicyDecision = {
    outcome: 'require_approval',
    reasons: [{ code: 'prod_cui_export', message: 'Production CUI export needs two data-owner approvals.' }],
    approval: {
      groups: ['data-owners'],
      min_approvals: 2,
      timeout_seconds: 3600,
      escalate_after_seconds: 1200,
      escalation_groups: ['data-owner-leads'],
      exclude: ['user:alice@example.gov'],
      channels: ['slack', 'teams'],
    },
    grant: {
      type: 'aws_sts',
      role: 'approved-data-export',
      actions: ['s3:GetObject'],
      resources: ['arn:aws-us-gov:s3:::fin-ledger-prod/ledger_2026q2/*'],
      window_seconds: 300,
    },
    policyDigest: 'sha256:aa',
    inputHash: 'sha256:bb',
  };

  it('prints outcome, reasons, approval, grant and digests, one fact a line', () => {
    expect(formatDecision(decision)).toBe(
      [
        'outcome:  require_approval',
        'reasons:',
        '  - prod_cui_export: Production CUI export needs two data-owner approvals.',
        'approval: 2 of data-owners, within 3600 s',
        '  escalates to data-owner-leads after 1200 s',
        '  excluded: user:alice@example.gov',
        '  channels: slack, teams',
        'grant:    aws_sts role approved-data-export for 300 s',
        '  actions:   s3:GetObject',
        '  resources: arn:aws-us-gov:s3:::fin-ledger-prod/ledger_2026q2/*',
        'policy digest: sha256:aa',
        'input hash:    sha256:bb',
        '',
      ].join('\n'),
    );
  });

  it('prints break-glass notification and review, and a grant of type none', () => {
    const text = formatDecision({
      outcome: 'allow',
      reasons: [{ code: 'break_glass', message: 'Break-glass.' }],
      grant: { type: 'none' },
      notify: ['security'],
      post_review: true,
      policyDigest: 'sha256:aa',
      inputHash: 'sha256:bb',
    });
    expect(text).toContain('grant:    none (no AWS credentials are issued)\n');
    expect(text).toContain('notify:   security\npost-review: required\n');
  });

  it('shows control and bidi characters as escapes instead of printing them', () => {
    const text = formatDecision({
      ...decision,
      reasons: [{ code: 'x', message: 'evil\u001b[2J\u202eend' }],
    });
    expect(text).toContain('evil\\u001b[2J\\u202eend');
    expect(text).not.toContain('\u001b');
  });
});
