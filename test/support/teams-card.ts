/** Approval cards as the core makes them, for the Teams renderer and notifier tests. */
import type { ApprovalCard } from '../../functions/core/approval-card.ts';

export function sampleCard(overrides: Partial<ApprovalCard> = {}): ApprovalCard {
  return {
    requestId: 'ar_01JTEAMSCARD0000000000000',
    version: 3,
    status: 'pending',
    requester: 'agent:demo-exporter',
    onBehalfOf: 'user:alice@example.gov',
    action: { name: 'data.export', args: { dataset: 'ledger_2026q2', destination: 's3://agency-drop/fin/' } },
    resource: {
      type: 'aws:s3:bucket',
      id: 'arn:aws-us-gov:s3:::fin-ledger-prod',
      claimed: { environment: 'prod', data_classification: 'CUI' },
    },
    vouched: { known: true, source: 'inventory', attributes: { environment: 'prod' } },
    justification: 'Quarterly reconciliation, CHG-4821',
    reasons: [{ code: 'prod_export', message: 'Production export needs two data-owner approvals.' }],
    approvalsRequired: 2,
    approvalsReceived: 0,
    groups: ['data-owners'],
    escalationGroups: ['data-owner-leads'],
    escalated: false,
    expiresAt: '2026-11-29T18:00:00.000Z',
    actionHash: `sha256:${'ab'.repeat(32)}`,
    shortHash: 'abababababab',
    votes: [],
    actions: ['approve', 'reject', 'escalate'],
    ...overrides,
  };
}
