/**
 * The request lifecycle as pure functions: each takes the current request and a command, enforces
 * the review invariants (docs/design.md#43-review-invariants) and returns the next state with the audit events that record
 * it. Nothing here reads a clock, a database or the network.
 */

import { type AuditDraft, appendEvents } from './audit.ts';
import { canonicalize, canonicalMember, canonicalObject, hashCanonical, sha256 } from './canonical.ts';
import { ineligibility, requestingSide } from './eligibility.ts';
import {
  ForbiddenError,
  GrantAlreadyRedeemedError,
  GrantNotRedeemedError,
  NarrowingDeniedError,
  NotApprovedError,
  NotDueError,
  OutcomeAlreadyReportedError,
  StaleActionHashError,
  StepUpRequiredError,
  TerminalStateError,
  ValidationError,
  VoteAlreadyCastError,
} from './errors.ts';
import {
  type ActionRequest,
  type ActionRequestInput,
  type ApprovalState,
  type Directory,
  GENESIS_HASH,
  type NarrowedTerms,
  type PolicyDecision,
  type Status,
  type Subject,
  type Vote,
  type VoteDecision,
  type VouchedResource,
} from './model.ts';
import { narrowedGrant, narrowTerms, quorumTerms } from './narrowing.ts';
import type { Transition } from './ports/store.port.ts';

/** Timers may fire this early (clock skew between the workflow engine and us) and still count. */
export const TIMER_TOLERANCE_MS = 2_000;

export const POLICY_ACTOR = 'policy';
export const TIMER_ACTOR = 'system:timer';

/** The action hash binds approvals and grants to exactly what was asked (docs/design.md#43-review-invariants). */
export function actionHash(subject: Subject, input: Pick<ActionRequestInput, 'action' | 'resource'>): string {
  return hashCanonical({ subject, action: input.action, resource: input.resource });
}

export function subjectOf(principalId: string): Subject {
  const colon = principalId.indexOf(':');
  return { id: principalId, type: colon > 0 ? principalId.slice(0, colon) : 'unknown' };
}

function transition(
  before: ActionRequest,
  now: Date,
  changes: Partial<Omit<ActionRequest, 'id' | 'version' | 'auditSeq' | 'auditHead'>>,
  drafts: readonly AuditDraft[],
): Transition {
  const time = now.toISOString();
  const { events, head } = appendEvents(
    before.id,
    { seq: before.auditSeq, hash: before.auditHead },
    time,
    drafts,
  );
  return {
    expectedVersion: before.version,
    events,
    request: {
      ...before,
      ...changes,
      version: before.version + 1,
      updatedAt: time,
      auditSeq: head.seq,
      auditHead: head.hash,
    },
  };
}

export interface SubmitCommand {
  readonly id: string;
  readonly subject: Subject;
  readonly input: ActionRequestInput;
  readonly decision: PolicyDecision;
  readonly now: Date;
  /**
   * Policy data at submission: the requesting agent's owners are written into the approval's
   * exclusions, so they stay excluded even if the data changes later. The service always passes it.
   */
  readonly directory?: Directory;
  /** What the gateway vouched for about the resource in the policy input, recorded with the verdict. */
  readonly vouched?: VouchedResource;
}

/** A new request: records the submission and the policy's verdict, and opens the approval if one is owed. */
export function submit({ id, subject, input, decision, now, directory, vouched }: SubmitCommand): Transition {
  const time = now.toISOString();
  // The action and resource are canonicalised once, for the action hash and the submission event.
  const action = canonicalize(input.action);
  const resource = canonicalize(input.resource);
  const hash = sha256(canonicalObject({ subject: canonicalize(subject), action, resource }));
  let outcome = decision.outcome;
  let reasons = decision.reasons;
  // Defence in depth: the evaluator already validates, but an approval without its terms is a deny.
  if (outcome === 'require_approval' && !decision.approval) {
    outcome = 'deny';
    reasons = [{ code: 'policy_error', message: 'policy required approval but gave no approval terms' }];
  }

  const drafts: AuditDraft[] = [
    {
      type: 'request.submitted',
      actor: subject.id,
      data: { action: input.action, resource: input.resource, context: input.context, action_hash: hash },
      canonicalData: canonicalObject({
        action,
        resource,
        context: canonicalMember(input.context),
        action_hash: canonicalize(hash),
      }),
    },
    {
      type: 'policy.evaluated',
      actor: POLICY_ACTOR,
      data: {
        outcome,
        reasons,
        policy_digest: decision.policyDigest,
        input_hash: decision.inputHash,
        ...(decision.notify ? { notify: decision.notify } : {}),
        ...(decision.post_review ? { post_review: true } : {}),
        ...(vouched ? { vouched } : {}),
        ...(decision.shadow ? { shadow: decision.shadow } : {}),
      },
    },
  ];

  let approval: ApprovalState | undefined;
  let status: ActionRequest['status'];
  if (outcome === 'allow') {
    status = 'approved';
    drafts.push({ type: 'request.approved', actor: POLICY_ACTOR, data: { by: 'policy' } });
  } else if (outcome === 'deny') {
    status = 'denied';
    drafts.push({ type: 'request.denied', actor: POLICY_ACTOR, data: { reasons } });
  } else {
    status = 'pending';
    approval = openApproval(subject, input, decision, now, directory ?? { groups: {}, identities: {} });
    drafts.push({
      type: 'approval.requested',
      actor: POLICY_ACTOR,
      data: {
        groups: approval.groups,
        min_approvals: approval.minApprovals,
        escalation_groups: approval.escalationGroups,
        exclude: approval.exclude,
        channels: approval.channels,
        expires_at: approval.expiresAt,
        ...(approval.escalateAt ? { escalate_at: approval.escalateAt } : {}),
        ...(approval.stepUp ? { step_up: true } : {}),
      },
    });
  }

  const { events, head } = appendEvents(id, { seq: 0, hash: GENESIS_HASH }, time, drafts);
  const request: ActionRequest = {
    id,
    version: 1,
    status,
    subject,
    action: input.action,
    resource: input.resource,
    context: input.context,
    actionHash: hash,
    decision: {
      outcome,
      reasons,
      policyDigest: decision.policyDigest,
      inputHash: decision.inputHash,
      ...(decision.notify ? { notify: decision.notify } : {}),
      ...(decision.post_review ? { postReview: true } : {}),
    },
    ...(approval ? { approval } : {}),
    ...(vouched ? { vouched } : {}),
    ...(outcome !== 'deny' && decision.grant ? { grant: decision.grant } : {}),
    createdAt: time,
    updatedAt: time,
    auditSeq: head.seq,
    auditHead: head.hash,
  };
  return { expectedVersion: 0, request, events };
}

export const GATEWAY_ACTOR = 'system:gateway';

export interface RefuseCommand {
  readonly id: string;
  readonly subject: Subject;
  readonly input: ActionRequestInput;
  /** Why the gateway refused the request before any policy saw it. */
  readonly reasons: readonly { code: string; message: string }[];
  readonly policyDigest: string;
  readonly now: Date;
}

/**
 * A submission the gateway refuses before evaluating it (an undeclared `on_behalf_of`, say): it is
 * recorded as denied, with its own audit trail, and never pending, so nobody is asked to approve
 * it and no grant exists.
 */
export function refuse({ id, subject, input, reasons, policyDigest, now }: RefuseCommand): Transition {
  const time = now.toISOString();
  const hash = actionHash(subject, input);
  const drafts: AuditDraft[] = [
    {
      type: 'request.submitted',
      actor: subject.id,
      data: { action: input.action, resource: input.resource, context: input.context, action_hash: hash },
    },
    { type: 'request.denied', actor: GATEWAY_ACTOR, data: { reasons, refused_by: 'gateway' } },
  ];
  const { events, head } = appendEvents(id, { seq: 0, hash: GENESIS_HASH }, time, drafts);
  const request: ActionRequest = {
    id,
    version: 1,
    status: 'denied',
    subject,
    action: input.action,
    resource: input.resource,
    context: input.context,
    actionHash: hash,
    decision: { outcome: 'deny', reasons, policyDigest, inputHash: hashCanonical(input) },
    createdAt: time,
    updatedAt: time,
    auditSeq: head.seq,
    auditHead: head.hash,
  };
  return { expectedVersion: 0, request, events };
}

function openApproval(
  subject: Subject,
  input: ActionRequestInput,
  decision: PolicyDecision,
  now: Date,
  directory: Directory,
): ApprovalState {
  const spec = decision.approval;
  if (!spec) throw new Error('unreachable: approval terms checked by submit');
  // The requesting side (requester, the human it acts for, the agent's owners) can never approve,
  // whatever the policy says.
  const onBehalfOf = typeof input.context.on_behalf_of === 'string' ? input.context.on_behalf_of : undefined;
  const exclude = new Set([...(spec.exclude ?? []), ...requestingSide(subject.id, onBehalfOf, directory)]);
  const escalationGroups = spec.escalation_groups ?? [];
  const expiresAt = new Date(now.getTime() + spec.timeout_seconds * 1000);
  const escalateAfter = spec.escalate_after_seconds;
  const escalates =
    escalationGroups.length > 0 && escalateAfter !== undefined && escalateAfter < spec.timeout_seconds;
  return {
    groups: [...spec.groups],
    minApprovals: spec.min_approvals,
    escalationGroups: [...escalationGroups],
    exclude: [...exclude].sort(),
    channels: [...(spec.channels ?? [])],
    timeoutSeconds: spec.timeout_seconds,
    expiresAt: expiresAt.toISOString(),
    ...(escalates ? { escalateAt: new Date(now.getTime() + escalateAfter * 1000).toISOString() } : {}),
    escalated: false,
    votes: [],
    ...(spec.step_up === true ? { stepUp: true } : {}),
  };
}

/** The vote channel of the review page (functions/http/review): the one that can vouch for step-up. */
export const REVIEW_PAGE_CHANNEL = 'review';

export interface ReviewCommand {
  readonly approver: string;
  readonly decision: VoteDecision;
  readonly comment?: string;
  /** The action hash the approver was shown; must match the request's. */
  readonly actionHash: string;
  /** Where the vote came from: `api`, `slack`, `teams`, `cli`, `review`. */
  readonly channel: string;
  /**
   * The voter signed in within the step-up window just now (only the review page can say so). A
   * request whose policy asks for step-up refuses any vote without it.
   */
  readonly steppedUp?: boolean;
  readonly now: Date;
  /**
   * An approval of less than was asked (core/narrowing.ts): the narrowed terms and what the policy
   * decided when it re-evaluated the request with them (`input.narrowing`).
   */
  readonly narrowing?: {
    readonly terms: NarrowedTerms;
    readonly reevaluation: Reevaluation;
  };
}

/** The policy's verdict on a narrowed approval, recorded with the vote. */
export interface Reevaluation {
  readonly outcome: PolicyDecision['outcome'];
  readonly reasons: readonly { readonly code: string; readonly message: string }[];
  readonly policy_digest: string;
  readonly input_hash: string;
}

export type ReviewResult =
  /** The vote counted; commit the transition. */
  | { readonly kind: 'recorded'; readonly transition: Transition }
  /** The approver had cast the same vote already; nothing changes. */
  | { readonly kind: 'duplicate'; readonly request: ActionRequest }
  /** The request is no longer pending: commit the `review.late` record, then refuse with `error`. */
  | { readonly kind: 'late'; readonly transition: Transition; readonly error: TerminalStateError };

export { activeGroups, ineligibility } from './eligibility.ts';

export function review(request: ActionRequest, command: ReviewCommand, directory: Directory): ReviewResult {
  const { approver, now } = command;
  const approval = request.approval;
  // Only someone who could have voted is heard at all: anyone else is refused with no record, so
  // neither the requester nor a reader can grow a request's audit trail by "voting" on it.
  const refusal = ineligibility(request, approver, directory);
  if (refusal) throw refusal;

  const late = (extra: Partial<ActionRequest>, more: AuditDraft[], status: string): ReviewResult => {
    const error = new TerminalStateError(`request ${request.id} is ${status}; votes are no longer accepted`, {
      details: { status },
    });
    // One review.late per approver: a repeated late vote is refused without another record.
    if (approval?.lateVoters?.includes(approver) && more.length === 0) throw error;
    const lateVoters = [...(approval?.lateVoters ?? []), approver];
    return {
      kind: 'late',
      transition: transition(
        request,
        now,
        { ...extra, ...(approval ? { approval: { ...approval, lateVoters } } : {}) },
        [
          ...more,
          {
            type: 'review.late',
            actor: approver,
            data: { decision: command.decision, channel: command.channel, status },
          },
        ],
      ),
      error,
    };
  };

  if (request.status !== 'pending' || !approval) return late({}, [], request.status);
  if (now.getTime() >= Date.parse(approval.expiresAt)) {
    // The deadline passed and the timer has not fired yet: the deadline wins, the vote is late.
    return late(
      { status: 'expired' },
      [expiredDraft(approval, 'deadline passed before the vote')],
      'expired',
    );
  }
  if (command.actionHash !== request.actionHash) {
    throw new StaleActionHashError(
      'the action hash you approved does not match this request; reload the request and review what it asks now',
      { details: { expected: request.actionHash, got: command.actionHash } },
    );
  }
  if (approval.stepUp === true && command.steppedUp !== true) {
    throw new StepUpRequiredError(
      command.channel === REVIEW_PAGE_CHANNEL
        ? 'this request needs a recent sign-in (step-up); sign in again and vote within the step-up window'
        : `this request's policy asks for step-up: approve or reject it on the review page after a fresh sign-in (votes through ${command.channel} are not accepted)`,
      { details: { channel: command.channel } },
    );
  }
  const narrowing = command.narrowing;
  if (narrowing && command.decision !== 'approve') {
    throw new ValidationError(
      'narrow_to applies to approvals only; a rejection rejects the request as asked',
      {
        details: { field: 'narrow_to' },
      },
    );
  }
  const earlier = approval.votes.find((vote) => vote.approver === approver);
  if (earlier) {
    // The same vote again is a retry and changes nothing; the other vote would silently not count.
    if (earlier.decision === command.decision && earlier.terms?.terms_hash === narrowing?.terms.terms_hash) {
      return { kind: 'duplicate', request };
    }
    const what = earlier.terms ? ` the narrowed terms ${earlier.terms.terms_hash}` : '';
    throw new VoteAlreadyCastError(
      `${approver} already voted to ${earlier.decision}${what} at ${earlier.time}; a vote cannot be changed`,
      {
        details: {
          decision: earlier.decision,
          time: earlier.time,
          ...(earlier.terms ? { terms_hash: earlier.terms.terms_hash } : {}),
        },
      },
    );
  }
  if (narrowing) {
    // Defence in depth: the terms must be what narrowing the request's grant gives, hash included.
    const terms = narrowTerms(request, narrowing.terms);
    if (!terms || terms.terms_hash !== narrowing.terms.terms_hash) {
      throw new ValidationError('the narrowed terms do not match this request; review the request again', {
        details: { field: 'narrow_to' },
      });
    }
    if (narrowing.reevaluation.outcome === 'deny') {
      const why = narrowing.reevaluation.reasons.map((r) => r.message).join(' ');
      throw new NarrowingDeniedError(
        `the policy denies the narrowed terms${why ? `: ${why}` : ''}; approve the request as asked, narrow it differently, or reject it`,
        { details: { terms_hash: terms.terms_hash, reasons: narrowing.reevaluation.reasons } },
      );
    }
  }
  // A comment with nothing anyone can read (spaces, zero-width or control characters) is no comment.
  const trimmed = command.comment?.trim();
  const comment = trimmed && hasVisibleText(trimmed) ? trimmed : undefined;
  if (command.decision === 'reject' && !comment) {
    throw new ValidationError(
      'a rejection needs a comment that tells the requester why, in visible text (spaces and zero-width or control characters alone do not count)',
      { details: { field: 'comment' } },
    );
  }

  const vote: Vote = {
    approver,
    decision: command.decision,
    ...(comment ? { comment } : {}),
    channel: command.channel,
    time: now.toISOString(),
    ...(narrowing ? { terms: narrowing.terms } : {}),
  };
  const votes = [...approval.votes, vote];
  const drafts: AuditDraft[] = [
    {
      type: 'review.recorded',
      actor: approver,
      data: {
        decision: vote.decision,
        channel: vote.channel,
        action_hash: command.actionHash,
        ...(comment ? { comment } : {}),
        ...(narrowing
          ? {
              terms_hash: narrowing.terms.terms_hash,
              terms: termsData(narrowing.terms),
              reevaluation: { ...narrowing.reevaluation },
            }
          : {}),
      },
    },
  ];
  let status: Status = request.status;
  let changes: Partial<ActionRequest> = {};
  if (vote.decision === 'reject') {
    status = 'rejected';
    drafts.push({ type: 'request.rejected', actor: approver, data: { comment } });
  } else {
    const reached = quorumTerms(votes, approval.minApprovals);
    if (reached?.kind === 'as_asked') {
      status = 'approved';
      drafts.push({
        type: 'request.approved',
        actor: approver,
        data: { by: 'review', approvers: reached.approvers },
      });
    } else if (reached?.kind === 'narrowed' && request.grant) {
      // The grant issued is the narrowed one: nothing outside the approved terms survives.
      status = 'approved';
      changes = {
        grant: narrowedGrant(request.grant, reached.terms),
        narrowed: { terms: reached.terms, asked: request.grant },
      };
      drafts.push({
        type: 'request.approved',
        actor: approver,
        data: {
          by: 'review',
          approvers: reached.approvers,
          terms_hash: reached.terms.terms_hash,
          terms: termsData(reached.terms),
        },
      });
    }
  }
  return {
    kind: 'recorded',
    transition: transition(request, now, { status, approval: { ...approval, votes }, ...changes }, drafts),
  };
}

function termsData(terms: NarrowedTerms): Record<string, unknown> {
  return {
    actions: [...terms.actions],
    resources: [...terms.resources],
    window_seconds: terms.window_seconds,
  };
}

function expiredDraft(approval: ApprovalState, why: string): AuditDraft {
  const approvals = approval.votes.filter((v) => v.decision === 'approve').length;
  return {
    type: 'request.expired',
    actor: TIMER_ACTOR,
    data: { expires_at: approval.expiresAt, approvals, min_approvals: approval.minApprovals, why },
  };
}

/** Brings in the escalation groups. Undefined when there is nothing to do (decided, or done already). */
export function escalate(request: ActionRequest, now: Date): Transition | undefined {
  const approval = request.approval;
  if (request.status !== 'pending' || !approval || approval.escalated || !approval.escalateAt)
    return undefined;
  if (now.getTime() + TIMER_TOLERANCE_MS < Date.parse(approval.escalateAt)) {
    throw new NotDueError(`request ${request.id} escalates at ${approval.escalateAt}, not before`);
  }
  return transition(request, now, { approval: { ...approval, escalated: true } }, [
    {
      type: 'request.escalated',
      actor: TIMER_ACTOR,
      data: { escalation_groups: approval.escalationGroups, expires_at: approval.expiresAt },
    },
  ]);
}

/**
 * An eligible approver hands the request to the escalation groups now, before the timer would
 * (the chat card's Escalate button). Only someone who may vote now may do it, only while the
 * request is pending and undecided, and only where the policy names escalation groups. Escalating
 * twice is a no-op (undefined), so a double click records one event.
 */
export function escalateByApprover(
  request: ActionRequest,
  command: { readonly approver: string; readonly channel: string; readonly now: Date },
  directory: Directory,
): Transition | undefined {
  const { approver, channel, now } = command;
  const refusal = ineligibility(request, approver, directory);
  if (refusal) throw refusal;
  const approval = request.approval;
  if (request.status !== 'pending' || !approval) {
    throw new TerminalStateError(
      `request ${request.id} is ${request.status}; it can no longer be escalated`,
      {
        details: { status: request.status },
      },
    );
  }
  if (now.getTime() >= Date.parse(approval.expiresAt)) {
    throw new TerminalStateError(`request ${request.id} passed its deadline; it can no longer be escalated`, {
      details: { status: 'expired' },
    });
  }
  if (approval.escalationGroups.length === 0) {
    throw new ValidationError(
      `the policy names no escalation groups for request ${request.id}, so there is no one to escalate to; approve or reject it`,
    );
  }
  if (approval.escalated) return undefined;
  return transition(request, now, { approval: { ...approval, escalated: true } }, [
    {
      type: 'request.escalated',
      actor: approver,
      data: {
        escalation_groups: approval.escalationGroups,
        expires_at: approval.expiresAt,
        by: 'approver',
        channel,
      },
    },
  ]);
}

/**
 * Ends an undecided request at its deadline. Undefined when it is decided already (the vote won).
 * `why` is recorded in the audit event: the timer, a failed workflow stage, the sweeper.
 */
export function expire(
  request: ActionRequest,
  now: Date,
  why = 'no decision before the deadline',
): Transition | undefined {
  const approval = request.approval;
  if (request.status !== 'pending' || !approval) return undefined;
  if (now.getTime() + TIMER_TOLERANCE_MS < Date.parse(approval.expiresAt)) {
    throw new NotDueError(`request ${request.id} expires at ${approval.expiresAt}, not before`);
  }
  return transition(request, now, { status: 'expired' }, [expiredDraft(approval, why)]);
}

function requireRequester(request: ActionRequest, actor: string, what: string): void {
  if (actor !== request.subject.id) {
    throw new ForbiddenError(`only the requester (${request.subject.id}) may ${what}`);
  }
}

export function cancel(request: ActionRequest, actor: string, now: Date, reason?: string): Transition {
  requireRequester(request, actor, 'cancel this request');
  if (request.status !== 'pending') {
    throw new TerminalStateError(
      `request ${request.id} is ${request.status}; only a pending request can be cancelled`,
      {
        details: { status: request.status },
      },
    );
  }
  return transition(request, now, { status: 'cancelled' }, [
    { type: 'request.cancelled', actor, data: reason ? { reason } : {} },
  ]);
}

/**
 * One-shot redemption of the grant, by the requester, of an approved request. `redemptionId` makes
 * each attempt's transition unique, so a caller can tell its own committed redemption from a
 * concurrent one even when both happened in the same millisecond.
 */
export function redeem(
  request: ActionRequest,
  actor: string,
  now: Date,
  redemptionId?: string,
  issued?: GrantIssuance,
): Transition {
  requireRedeemable(request, actor);
  const grant = request.grant ?? { type: 'none' as const };
  return transition(request, now, { grantRedeemedAt: now.toISOString() }, [
    {
      type: 'grant.redeemed',
      actor,
      data: {
        grant_type: grant.type,
        action_hash: request.actionHash,
        ...(redemptionId ? { redemption_id: redemptionId } : {}),
        ...(grant.role ? { role: grant.role } : {}),
        ...(grant.window_seconds ? { window_seconds: grant.window_seconds } : {}),
        ...(issued
          ? {
              session_name: issued.sessionName,
              expiration: issued.expiration,
              usable_until: issued.usableUntil,
              policy_hash: issued.policyHash,
            }
          : {}),
      },
    },
  ]);
}

/**
 * What the audit keeps of issued credentials: never the credentials, only what identifies the
 * session in CloudTrail and the policy it was scoped by.
 */
export interface GrantIssuance {
  readonly sessionName: string;
  readonly expiration: string;
  readonly usableUntil: string;
  readonly policyHash: string;
}

/**
 * The requester's redemption was refused because the grant cannot be issued as stated: the chain
 * records why, the request stays approved and unredeemed.
 */
export function refuseGrant(
  request: ActionRequest,
  actor: string,
  now: Date,
  refusal: { code: string; message: string },
): Transition {
  requireRedeemable(request, actor);
  return transition(request, now, {}, [
    { type: 'grant.refused', actor, data: { code: refusal.code, message: refusal.message } },
  ]);
}

/** Redemption's preconditions: the requester, an approved request, not redeemed yet. */
export function requireRedeemable(request: ActionRequest, actor: string): void {
  requireRequester(request, actor, 'redeem this grant');
  if (request.status !== 'approved') {
    throw new NotApprovedError(
      `request ${request.id} is ${request.status}; only an approved request has a grant`,
      {
        details: { status: request.status },
      },
    );
  }
  if (request.grantRedeemedAt) {
    throw new GrantAlreadyRedeemedError(
      `the grant of request ${request.id} was redeemed at ${request.grantRedeemedAt}; grants are delivered once`,
    );
  }
}

export function reportOutcome(
  request: ActionRequest,
  actor: string,
  outcome: { status: 'succeeded' | 'failed'; detail?: string },
  now: Date,
): Transition {
  requireRequester(request, actor, 'report the outcome');
  if (request.status !== 'approved') {
    throw new NotApprovedError(
      `request ${request.id} is ${request.status}; only an approved action has an outcome`,
      {
        details: { status: request.status },
      },
    );
  }
  if (!request.grantRedeemedAt) {
    // An outcome claims the action was attempted, which needs the grant; without it the chain
    // would record an action that could not have happened through the gateway.
    throw new GrantNotRedeemedError(
      `the grant of request ${request.id} was never redeemed; redeem it (POST /v1/action-requests/${request.id}/grant, \`ala redeem ${request.id}\`) and act before reporting an outcome`,
    );
  }
  if (request.outcome) {
    throw new OutcomeAlreadyReportedError(`the outcome of request ${request.id} was reported already`);
  }
  const time = now.toISOString();
  return transition(request, now, { outcome: { ...outcome, time } }, [
    {
      type: 'action.outcome',
      actor,
      data: { status: outcome.status, ...(outcome.detail ? { detail: outcome.detail } : {}) },
    },
  ]);
}

/** Records that approvers were told, on which channel; no state change but the chain. */
export function recordNotification(
  request: ActionRequest,
  notification: { channel: string; recipients: readonly string[]; reference?: string; escalation?: boolean },
  now: Date,
): Transition {
  return transition(request, now, {}, [
    {
      type: 'notification.sent',
      actor: 'system:notifier',
      data: {
        channel: notification.channel,
        recipients: notification.recipients,
        ...(notification.reference ? { reference: notification.reference } : {}),
        ...(notification.escalation ? { escalation: true } : {}),
      },
    },
  ]);
}

/**
 * Whether `text` has a character a reader can see: not white space, not a control, format
 * (zero-width, bidi) or private-use character, not a lone combining mark, not unassigned.
 */
export function hasVisibleText(text: string): boolean {
  return /[^\p{White_Space}\p{Cc}\p{Cf}\p{Co}\p{Cn}\p{Cs}\p{M}]/u.test(text);
}
