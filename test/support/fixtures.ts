/** Test doubles of our own ports (never of a real part) and request builders. */
import type {
  ActionRequestInput,
  Directory,
  PolicyDecision,
  PolicyInput,
} from '../../functions/core/model.ts';
import type { Clock } from '../../functions/core/ports/clock.port.ts';
import type { PolicyEvaluator } from '../../functions/core/ports/policy.port.ts';

export const directory: Directory = {
  groups: {
    'data-owners': ['user:bob@example.gov', 'user:carol@example.gov', ...numbered('owner', 20)],
    'data-owner-leads': ['user:lead@example.gov'],
    auditors: ['user:audrey@example.gov'],
  },
  identities: { slack: { U0BOB: 'user:bob@example.gov' } },
  agents: {
    'agent:demo-exporter': {
      owners: ['user:alice@example.gov'],
      acts_for: [{ principal: 'user:alice@example.gov' }],
    },
  },
};

function numbered(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `user:${prefix}${i}@example.gov`);
}

export const owners = directory.groups['data-owners'] as readonly string[];

export const exportInput: ActionRequestInput = {
  action: { name: 'data.export', args: { dataset: 'ledger_2026q2', destination: 's3://agency-drop/fin/' } },
  resource: {
    type: 'aws:s3:bucket',
    id: 'arn:aws-us-gov:s3:::fin-ledger-prod',
    properties: { environment: 'prod', data_classification: 'CUI' },
  },
  context: { justification: 'Quarterly reconciliation, CHG-4821', on_behalf_of: 'user:alice@example.gov' },
};

export function decision(overrides: Partial<PolicyDecision> = {}): PolicyDecision {
  return {
    outcome: 'require_approval',
    reasons: [{ code: 'prod_export', message: 'Production export needs two data-owner approvals.' }],
    approval: {
      groups: ['data-owners'],
      min_approvals: 2,
      timeout_seconds: 3600,
      escalate_after_seconds: 1200,
      escalation_groups: ['data-owner-leads'],
    },
    grant: { type: 'none' },
    policyDigest: `sha256:${'a'.repeat(64)}`,
    inputHash: `sha256:${'b'.repeat(64)}`,
    ...overrides,
  };
}

/** An auto-allowed action with an `aws_sts` grant of one S3 read; `resources` to vary what it names. */
export function stsGrantDecision(
  resources: readonly string[] = ['arn:aws:s3:::exports/report.csv'],
): PolicyDecision {
  return decision({
    outcome: 'allow',
    approval: undefined,
    grant: {
      type: 'aws_sts',
      role: 'r',
      actions: ['s3:GetObject'],
      resources: [...resources],
      window_seconds: 300,
    },
  });
}

/** A policy evaluator that answers with a fixed decision (or one per input). */
export function fixedPolicy(
  answer: PolicyDecision | ((input: PolicyInput) => PolicyDecision),
): PolicyEvaluator {
  return {
    evaluate: (input) => (typeof answer === 'function' ? answer(input) : answer),
    digest: `sha256:${'a'.repeat(64)}`,
    directory,
  };
}

/** A clock tests move by hand. */
export class ManualClock implements Clock {
  #now: number;
  constructor(start = Date.parse('2026-11-22T10:00:00.000Z')) {
    this.#now = start;
  }
  now(): Date {
    return new Date(this.#now);
  }
  advance(seconds: number): void {
    this.#now += seconds * 1000;
  }
}
