/**
 * What a request commits on its way through the gateway, produced by the core's own lifecycle
 * functions (functions/core/lifecycle.ts): each flow is the list of commits (state before, state
 * after, audit events) one request of that kind makes. The capacity model and the traffic
 * simulation both run these commits through the store's key functions.
 */
import * as lifecycle from '../../functions/core/lifecycle.ts';
import type { ActionRequest, Directory, PolicyDecision } from '../../functions/core/model.ts';
import type { Transition } from '../../functions/core/ports/store.port.ts';
import type { Mix } from './inputs.ts';

export const FLOW_KINDS = [
  'auto_allowed',
  'auto_allowed_redeemed',
  'denied',
  'approved_redeemed',
  'approved_unredeemed',
  'rejected',
  'expired',
  'expired_escalated',
  'cancelled',
] as const;
export type FlowKind = (typeof FLOW_KINDS)[number];

/** One commit: what the store receives (functions/core/ports/store.port.ts Transition). */
export interface Commit {
  readonly step: string;
  readonly before: ActionRequest | undefined;
  readonly after: ActionRequest;
  readonly events: number;
  /** Bytes of the stored request (its JSON body) and of each audit event. */
  readonly requestBytes: number;
  readonly eventBytes: readonly number[];
}

export interface FlowShape {
  readonly kind: FlowKind;
  /** Approvals the policy asks for (approval flows). */
  readonly minApprovals: number;
  /** Chat channels told at each waiting stage: each records one notification.sent commit. */
  readonly channels: number;
}

const TEMPLATE_REQUESTER = 'agent:capacity-template';
const TEMPLATE_GROUP = 'capacity-template-approvers';
const TEMPLATE_ESCALATION = 'capacity-template-escalation';
const START = Date.parse('2026-01-05T09:00:00.000Z');
const TIMEOUT_SECONDS = 3600;
const ESCALATE_AFTER_SECONDS = 1800;

const directory: Directory = {
  groups: {
    [TEMPLATE_GROUP]: Array.from({ length: 5 }, (_, i) => `user:approver-${i}@example.gov`),
    [TEMPLATE_ESCALATION]: ['user:escalation-0@example.gov'],
  },
  identities: {},
  agents: { [TEMPLATE_REQUESTER]: { owners: ['user:owner@example.gov'] } },
};

function decision(outcome: PolicyDecision['outcome'], shape: FlowShape): PolicyDecision {
  return {
    outcome,
    reasons: [{ code: 'capacity_model', message: 'a representative decision of the default pack' }],
    policyDigest: `sha256:${'a'.repeat(64)}`,
    inputHash: `sha256:${'b'.repeat(64)}`,
    grant: {
      type: 'aws_sts',
      role: 'approved-data-export',
      actions: ['s3:GetObject'],
      resources: ['arn:aws:s3:::fin-ledger-prod/*'],
      window_seconds: 900,
    },
    ...(outcome === 'require_approval'
      ? {
          approval: {
            groups: [TEMPLATE_GROUP],
            min_approvals: shape.minApprovals,
            timeout_seconds: TIMEOUT_SECONDS,
            escalate_after_seconds: ESCALATE_AFTER_SECONDS,
            escalation_groups: [TEMPLATE_ESCALATION],
            channels: Array.from(
              { length: shape.channels },
              (_, i) => ['slack', 'teams', 'webhook'][i] ?? 'webhook',
            ),
          },
        }
      : {}),
  };
}

const input = {
  action: {
    name: 'data.export',
    args: { dataset: 'ledger_2026q2', destination: 's3://agency-internal-archive/fin/' },
  },
  resource: {
    type: 'aws:s3:bucket',
    id: 'arn:aws-us-gov:s3:::fin-ledger-prod',
    properties: { environment: 'prod', data_classification: 'CUI' },
  },
  context: { justification: 'Quarterly reconciliation, CHG-4821' },
};

/** The commits of one request of `shape`, from the real lifecycle functions. */
export function templateFlow(shape: FlowShape): Commit[] {
  const commits: Commit[] = [];
  let current: ActionRequest | undefined;
  let clock = START;
  const at = (seconds: number) => {
    clock += seconds * 1000;
    return new Date(clock);
  };
  const apply = (step: string, transition: Transition) => {
    commits.push({
      step,
      before: current,
      after: transition.request,
      events: transition.events.length,
      requestBytes: Buffer.byteLength(JSON.stringify(transition.request)),
      eventBytes: transition.events.map((e) => Buffer.byteLength(JSON.stringify(e))),
    });
    current = transition.request;
  };
  const request = () => {
    if (!current) throw new Error('no request yet');
    return current;
  };
  const notify = (escalation: boolean) => {
    for (const channel of request().approval?.channels ?? []) {
      apply(
        'notification',
        lifecycle.recordNotification(
          request(),
          { channel, recipients: [escalation ? TEMPLATE_ESCALATION : TEMPLATE_GROUP], escalation },
          at(1),
        ),
      );
    }
  };
  const outcome = (
    { auto_allowed: 'allow', auto_allowed_redeemed: 'allow', denied: 'deny' } as Partial<
      Record<FlowKind, PolicyDecision['outcome']>
    >
  )[shape.kind];
  apply(
    'submit',
    lifecycle.submit({
      id: '01JCAPACITYTEMPLATE0000000',
      subject: lifecycle.subjectOf(TEMPLATE_REQUESTER),
      input,
      decision: decision(outcome ?? 'require_approval', shape),
      now: at(0),
      directory,
    }),
  );
  const redeemAndReport = () => {
    apply('redeem', lifecycle.redeem(request(), TEMPLATE_REQUESTER, at(5), 'redemption-1'));
    apply('outcome', lifecycle.reportOutcome(request(), TEMPLATE_REQUESTER, { status: 'succeeded' }, at(60)));
  };
  const vote = (approver: string, choice: 'approve' | 'reject') => {
    const result = lifecycle.review(
      request(),
      {
        approver,
        decision: choice,
        ...(choice === 'reject' ? { comment: 'not this quarter' } : {}),
        actionHash: request().actionHash,
        channel: 'api',
        now: at(120),
      },
      directory,
    );
    if (result.kind !== 'recorded') throw new Error(`template vote by ${approver} was ${result.kind}`);
    apply(choice, result.transition);
  };
  switch (shape.kind) {
    case 'auto_allowed':
    case 'denied':
      break;
    case 'auto_allowed_redeemed':
      redeemAndReport();
      break;
    case 'approved_redeemed':
    case 'approved_unredeemed':
      notify(false);
      for (let i = 0; i < shape.minApprovals; i++)
        vote(directory.groups[TEMPLATE_GROUP]?.[i] ?? '', 'approve');
      if (shape.kind === 'approved_redeemed') redeemAndReport();
      break;
    case 'rejected':
      notify(false);
      vote(directory.groups[TEMPLATE_GROUP]?.[0] ?? '', 'reject');
      break;
    case 'expired':
    case 'expired_escalated': {
      notify(false);
      if (shape.kind === 'expired_escalated') {
        clock = START + ESCALATE_AFTER_SECONDS * 1000;
        const escalated = lifecycle.escalate(request(), at(0));
        if (escalated) apply('escalate', escalated);
        notify(true);
      }
      clock = START + TIMEOUT_SECONDS * 1000;
      const expired = lifecycle.expire(request(), at(0));
      if (expired) apply('expire', expired);
      break;
    }
    case 'cancelled':
      notify(false);
      apply('cancel', lifecycle.cancel(request(), TEMPLATE_REQUESTER, at(30)));
      break;
  }
  const last = commits.at(-1)?.after.status;
  const expected: Record<FlowKind, string> = {
    auto_allowed: 'approved',
    auto_allowed_redeemed: 'approved',
    denied: 'denied',
    approved_redeemed: 'approved',
    approved_unredeemed: 'approved',
    rejected: 'rejected',
    expired: 'expired',
    expired_escalated: 'expired',
    cancelled: 'cancelled',
  };
  if (last !== expected[shape.kind]) {
    throw new Error(`flow ${shape.kind} ended ${last}, expected ${expected[shape.kind]}`);
  }
  return commits;
}

/** Who a synthetic request is: the parts of a request the store's keys can depend on. */
export interface Identity {
  readonly id: string;
  readonly requester: string;
  readonly groups: readonly string[];
  readonly escalationGroups: readonly string[];
  readonly createdAt: string;
}

/**
 * A template's request as another request of the same shape: same transitions and sizes, other
 * id, requester and groups. The audit hashes are the template's (keys never read them).
 */
export function rebind(request: ActionRequest, who: Identity): ActionRequest {
  return {
    ...request,
    id: who.id,
    subject: lifecycle.subjectOf(who.requester),
    createdAt: who.createdAt,
    ...(request.approval
      ? {
          approval: {
            ...request.approval,
            groups: [...who.groups],
            escalationGroups: [...who.escalationGroups],
          },
        }
      : {}),
  };
}

/** A flow shape and its share of all submitted requests. */
export interface WeightedShape {
  readonly shape: FlowShape;
  readonly weight: number;
}

/** The mix as flow shapes with weights that add up to 1 (shapes of weight 0 are left out). */
export function flowShapes(mix: Mix): WeightedShape[] {
  const { shares, approval } = mix;
  const channels = approval.channels;
  const out: WeightedShape[] = [];
  const add = (kind: FlowKind, weight: number, minApprovals = 1) => {
    if (weight > 0) out.push({ shape: { kind, minApprovals, channels }, weight });
  };
  add('auto_allowed', shares.auto_allowed * (1 - mix.autoAllowed.redeemed));
  add('auto_allowed_redeemed', shares.auto_allowed * mix.autoAllowed.redeemed);
  add('denied', shares.denied);
  const o = approval.outcomes;
  for (const [quorum, quorumShare] of Object.entries(approval.minApprovals)) {
    const w = shares.approval * quorumShare;
    const n = Number(quorum);
    add('approved_redeemed', w * o.approved * approval.redeemedOfApproved, n);
    add('approved_unredeemed', w * o.approved * (1 - approval.redeemedOfApproved), n);
    add('rejected', w * o.rejected, n);
    add('expired', w * o.expired * (1 - approval.escalatedOfExpired), n);
    add('expired_escalated', w * o.expired * approval.escalatedOfExpired, n);
    add('cancelled', w * o.cancelled, n);
  }
  return out;
}

export function isApprovalFlow(kind: FlowKind): boolean {
  return !['auto_allowed', 'auto_allowed_redeemed', 'denied'].includes(kind);
}
