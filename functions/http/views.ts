/**
 * What the API shows: of a request, its grant, its audit trail and a policy dry run; and the
 * messages written for the agent (an LLM) that asked.
 */

import type { ChainVerdict } from '../core/audit.ts';
import { asHashed } from '../core/audit.ts';
import type { ActionRequest, AuditEvent, NarrowedTerms, PolicyDecision } from '../core/model.ts';
import { describeTerms } from '../core/narrowing.ts';
import type { IssuedCredentials } from '../core/ports/credentials.port.ts';
import type { ActionRequestView, AuditView, DecisionView, EvaluationView, GrantView } from './schemas.ts';

export function requestPath(id: string): string {
  return `/v1/action-requests/${id}`;
}

export function toView(request: ActionRequest): ActionRequestView {
  const path = requestPath(request.id);
  const approval = request.approval;
  const links: Record<string, string> = { self: path, audit: `${path}/audit` };
  if (request.status === 'pending') {
    links.wait = `${path}?wait=25`;
    links.decisions = `${path}/decisions`;
    links.cancel = `${path}/cancel`;
  }
  if (request.status === 'approved') {
    if (!request.grantRedeemedAt) links.grant = `${path}/grant`;
    if (!request.outcome) links.outcome = `${path}/outcome`;
  }
  return {
    id: request.id,
    status: request.status,
    requester: request.subject.id,
    action: request.action,
    resource: request.resource,
    context: request.context,
    action_hash: request.actionHash,
    decision: {
      outcome: request.decision.outcome,
      reasons: [...request.decision.reasons],
      policy_digest: request.decision.policyDigest,
      input_hash: request.decision.inputHash,
      ...(request.decision.notify ? { notify: [...request.decision.notify] } : {}),
      ...(request.decision.postReview ? { post_review: true } : {}),
    },
    ...(approval
      ? {
          approval: {
            required: approval.minApprovals,
            received: approval.votes.filter((v) => v.decision === 'approve').length,
            groups: [...approval.groups],
            escalation_groups: [...approval.escalationGroups],
            escalated: approval.escalated,
            expires_at: approval.expiresAt,
            ...(approval.escalateAt ? { escalate_at: approval.escalateAt } : {}),
            votes: approval.votes.map(({ terms, ...v }) => ({
              ...v,
              ...(terms ? { terms: termsView(terms) } : {}),
            })),
          },
        }
      : {}),
    ...(request.grant
      ? {
          grant: {
            type: request.grant.type,
            ...(request.grant.role ? { role: request.grant.role } : {}),
            ...(request.grant.actions ? { actions: [...request.grant.actions] } : {}),
            ...(request.grant.resources ? { resources: [...request.grant.resources] } : {}),
            ...(request.grant.window_seconds ? { window_seconds: request.grant.window_seconds } : {}),
            ...(request.grantRedeemedAt ? { redeemed_at: request.grantRedeemedAt } : {}),
          },
        }
      : {}),
    ...(request.narrowed
      ? { narrowed: { terms: termsView(request.narrowed.terms), asked: mutableCopy(request.narrowed.asked) } }
      : {}),
    ...(request.outcome ? { outcome: { ...request.outcome } } : {}),
    created_at: request.createdAt,
    updated_at: request.updatedAt,
    agent_message: agentMessage(request),
    links,
  };
}

/**
 * The answer to a vote: the request and the approver's vote as it stands, with whether this call
 * recorded it, so a client can tell a retried vote (nothing new recorded) from a counted one.
 */
export function toDecisionView(request: ActionRequest, approver: string, recorded: boolean): DecisionView {
  const vote = request.approval?.votes.find((v) => v.approver === approver);
  if (!vote) throw new Error(`invariant: the vote of ${approver} is missing from ${request.id} after review`);
  return {
    ...toView(request),
    vote: {
      approver: vote.approver,
      decision: vote.decision,
      channel: vote.channel,
      time: vote.time,
      ...(vote.terms ? { terms: termsView(vote.terms) } : {}),
      recorded,
    },
  };
}

function termsView(terms: NarrowedTerms) {
  return {
    actions: [...terms.actions],
    resources: [...terms.resources],
    window_seconds: terms.window_seconds,
    terms_hash: terms.terms_hash,
  };
}

/** A redeemed grant: its terms, the credentials when it has any (shown once), what to do next. */
export function toGrantView(request: ActionRequest, credentials: IssuedCredentials | undefined): GrantView {
  const grant = request.grant ?? { type: 'none' as const };
  return {
    request_id: request.id,
    action_hash: request.actionHash,
    grant: { type: grant.type, ...(grant.role ? { role: grant.role } : {}) },
    ...(credentials
      ? {
          credentials: {
            access_key_id: credentials.accessKeyId,
            secret_access_key: credentials.secretAccessKey,
            session_token: credentials.sessionToken,
            expiration: credentials.expiration,
            usable_until: credentials.usableUntil,
            ...(credentials.region ? { region: credentials.region } : {}),
          },
        }
      : {}),
    agent_message:
      grant.type === 'none'
        ? 'Granted. This action needs no credentials from the gateway: perform exactly the approved action now, then report the outcome.'
        : request.narrowed
          ? `Here are credentials scoped to what the approvers approved, which is narrower than you asked: ${describeTerms(request.narrowed.terms)}. They are shown once and allow nothing else; do only that part of the action, then report the outcome. Anything beyond it needs a new request.`
          : 'Here are credentials scoped to exactly the approved action; they are shown once and work only within the approved window. Perform the action, then report the outcome.',
  };
}

/** A request's audit chain with the gateway's verification of it. */
export function toAuditView(
  requestId: string,
  events: readonly AuditEvent[],
  verification: ChainVerdict,
  recordedHead: { seq: number; hash: string },
): AuditView {
  return {
    request_id: requestId,
    // Exactly what was hashed: a field a store added is never shown (verification reports it).
    events: events.map((e) => ({ ...asHashed(e) })),
    recorded_head: { seq: recordedHead.seq, hash: recordedHead.hash },
    verification: verification.ok
      ? { ok: true, count: verification.count, head: verification.head }
      : { ok: false, problems: verification.problems.map((p) => ({ ...p })) },
  };
}

/** A policy dry run, with the action hash the request would get. */
export function toEvaluationView(decision: PolicyDecision, actionHash: string): EvaluationView {
  return {
    outcome: decision.outcome,
    reasons: [...decision.reasons],
    ...(decision.approval ? { approval: mutableCopy(decision.approval) } : {}),
    ...(decision.grant ? { grant: mutableCopy(decision.grant) } : {}),
    policy_digest: decision.policyDigest,
    input_hash: decision.inputHash,
    action_hash: actionHash,
  };
}

/** A JSON-safe deep copy whose type drops `readonly`, for response bodies. */
type Mutable<T> = T extends readonly (infer U)[]
  ? Mutable<U>[]
  : T extends object
    ? { -readonly [K in keyof T]: Mutable<T[K]> }
    : T;
function mutableCopy<T>(value: T): Mutable<T> {
  // By hand: structuredClone costs more than the rest of a small view (it is on every dry run).
  if (Array.isArray(value)) return value.map(mutableCopy) as Mutable<T>;
  if (value === null || typeof value !== 'object') return value as Mutable<T>;
  const copy: Record<string, unknown> = {};
  for (const [key, member] of Object.entries(value)) copy[key] = mutableCopy(member);
  return copy as Mutable<T>;
}

const NOT_EXECUTED = 'Nothing has been executed.';
const NO_WORKAROUND =
  'Do not retry this action through another tool, with different parameters or by splitting it up to avoid review; tell the user what happened instead.';

function describe(request: ActionRequest): string {
  return `${request.action.name} on ${request.resource.type} ${request.resource.id}`;
}

/**
 * Plain sentences for an LLM agent: what happened, that nothing ran unless approved, what to do
 * next, and never to route around the decision.
 */
export function agentMessage(request: ActionRequest): string {
  const what = describe(request);
  const reasons = request.decision.reasons.map((r) => r.message).join(' ');
  switch (request.status) {
    case 'pending': {
      const a = request.approval;
      const received = a ? a.votes.filter((v) => v.decision === 'approve').length : 0;
      const groups = a ? [...a.groups, ...(a.escalated ? a.escalationGroups : [])].join(', ') : '';
      const narrowed = a ? a.votes.filter((v) => v.decision === 'approve' && v.terms).length : 0;
      return [
        `Your request to perform ${what} is waiting for human approval (${received} of ${a?.minApprovals ?? '?'} approvals from ${groups}; it expires at ${a?.expiresAt}).`,
        narrowed > 0
          ? `${narrowed} of those approvals cover less than you asked; if the request is approved that way, only the approved part will be granted.`
          : '',
        reasons,
        `${NOT_EXECUTED} Wait for the decision (GET ${requestPath(request.id)}?wait=25) before acting. ${NO_WORKAROUND}`,
      ]
        .filter(Boolean)
        .join(' ');
    }
    case 'approved': {
      const by =
        request.decision.outcome === 'allow'
          ? 'by policy'
          : `by ${(request.approval?.votes ?? []).map((v) => v.approver).join(' and ')}`;
      const grant =
        request.grant?.type === 'aws_sts'
          ? request.grantRedeemedAt
            ? 'Its credentials were already redeemed; they are delivered once.'
            : `Redeem the scoped credentials once (POST ${requestPath(request.id)}/grant), perform exactly this action, then report the outcome.`
          : `Perform exactly this action, then report the outcome (POST ${requestPath(request.id)}/outcome).`;
      if (request.narrowed) {
        const asked = request.narrowed.asked;
        return [
          `Approved ${by}, but narrower than you asked: only ${describeTerms(request.narrowed.terms)}`,
          `(you asked for ${asked.actions?.join(', ')} on ${asked.resources?.join(', ')}, for ${asked.window_seconds} s; terms hash ${request.narrowed.terms.terms_hash}).`,
          `Do only what was approved; the credentials allow nothing else. ${grant}`,
          'Anything beyond the approved terms needs a new request; tell the user what was left out.',
        ].join(' ');
      }
      return `Approved ${by}: you may perform ${what}, exactly as submitted (action hash ${request.actionHash}). ${grant} Any other action needs its own request.`;
    }
    case 'denied':
      return `Denied by policy: ${reasons || 'no rule allows this action.'} ${NOT_EXECUTED} ${NO_WORKAROUND}`;
    case 'rejected': {
      const veto = request.approval?.votes.find((v) => v.decision === 'reject');
      return `Rejected by ${veto?.approver ?? 'a reviewer'}: "${veto?.comment ?? ''}". ${NOT_EXECUTED} ${NO_WORKAROUND}`;
    }
    case 'expired':
      return `No approver decided before the deadline, so the request to perform ${what} expired. ${NOT_EXECUTED} Submit a new request only if the user still wants this done. ${NO_WORKAROUND}`;
    case 'cancelled':
      return `The request to perform ${what} was cancelled by its requester. ${NOT_EXECUTED}`;
  }
}
