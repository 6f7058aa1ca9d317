/**
 * What an approver is shown about a request, whatever the channel: the one source of a card's
 * content. Slack, Teams and the webhook render this view; none of them reads the request itself, so
 * every channel shows the same facts, and the facts an agent supplied are marked as such.
 *
 * Rendering (escaping, limits, truncation markers) is each channel's job: the rules differ (Slack
 * mrkdwn, Adaptive Card markdown, plain JSON). Every string here that came from the agent is in a
 * field whose name or doc comment says so, and must be rendered inert.
 */
import { activeGroups, approvers } from './eligibility.ts';
import type { ActionRequest, Reason, Status, VoteDecision } from './model.ts';

export type CardAction = 'approve' | 'reject' | 'escalate';

export interface CardVote {
  readonly approver: string;
  readonly decision: VoteDecision;
  /** The approver's own words. */
  readonly comment?: string;
  readonly channel: string;
  readonly time: string;
}

export interface ApprovalCard {
  readonly requestId: string;
  /** Increments with every change of the request: a channel may skip an update older than what it shows. */
  readonly version: number;
  readonly status: Status;
  /** The authenticated requester (canonical principal id). */
  readonly requester: string;
  /** The human the agent declared it acts for (checked against policy data at submission). */
  readonly onBehalfOf?: string;
  /** Agent-supplied: the action's name and arguments. */
  readonly action: { readonly name: string; readonly args: Record<string, unknown> };
  /** Agent-supplied: the resource and the properties the agent claims for it. */
  readonly resource: {
    readonly type: string;
    readonly id: string;
    readonly claimed: Record<string, unknown>;
  };
  /** What the gateway vouches for about the resource, and from where; absent on older requests. */
  readonly vouched?: {
    readonly known: boolean;
    readonly source: string;
    readonly attributes: Record<string, string>;
  };
  /** Agent-supplied. */
  readonly justification?: string;
  /** The policy's reasons for asking. */
  readonly reasons: readonly Reason[];
  readonly approvalsRequired: number;
  readonly approvalsReceived: number;
  /** Groups whose members may vote now (escalation groups included once escalated). */
  readonly groups: readonly string[];
  readonly escalationGroups: readonly string[];
  readonly escalated: boolean;
  /** RFC 3339: when the request expires if undecided. */
  readonly expiresAt?: string;
  /** `sha256:<hex>` binding votes to exactly this action. */
  readonly actionHash: string;
  /** The first 12 hex digits of the action hash, for people to compare at a glance. */
  readonly shortHash: string;
  readonly votes: readonly CardVote[];
  /** When the request left `pending` (its last change), for decided cards. */
  readonly decidedAt?: string;
  /** The buttons to show: none once the request is decided. */
  readonly actions: readonly CardAction[];
  /** The request on the review page, when the gateway serves one (a link button on the card). */
  readonly reviewUrl?: string;
  /**
   * The policy asks for step-up: votes count only from a fresh sign-in on the review page, so the
   * card offers no Approve/Reject buttons, only the link.
   */
  readonly stepUp?: boolean;
}

export interface CardOptions {
  /** The review page's base URL (`https://approvals.example.gov`); cards link to `<base>/review/requests/<id>`. */
  readonly reviewBaseUrl?: string;
}

/** The review page URL of a request. */
export function reviewUrl(baseUrl: string, requestId: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/review/requests/${encodeURIComponent(requestId)}`;
}

/** The first 12 hex digits of a `sha256:<hex>` hash. */
export function shortHash(hash: string): string {
  return hash.replace(/^sha256:/, '').slice(0, 12);
}

/** The card for `request` as it stands now. */
export function approvalCard(request: ActionRequest, options: CardOptions = {}): ApprovalCard {
  const approval = request.approval;
  const pending = request.status === 'pending';
  const actions: CardAction[] = [];
  if (pending && approval) {
    if (approval.stepUp !== true) actions.push('approve', 'reject');
    if (approval.escalationGroups.length > 0 && !approval.escalated) actions.push('escalate');
  }
  const onBehalfOf = request.context.on_behalf_of;
  const justification = request.context.justification;
  return {
    requestId: request.id,
    version: request.version,
    status: request.status,
    requester: request.subject.id,
    ...(typeof onBehalfOf === 'string' ? { onBehalfOf } : {}),
    action: { name: request.action.name, args: request.action.args },
    resource: { type: request.resource.type, id: request.resource.id, claimed: request.resource.properties },
    ...(request.vouched
      ? {
          vouched: {
            known: request.vouched.known,
            source: request.vouched.source,
            attributes: request.vouched.attributes,
          },
        }
      : {}),
    ...(typeof justification === 'string' ? { justification } : {}),
    reasons: request.decision.reasons,
    approvalsRequired: approval?.minApprovals ?? 0,
    approvalsReceived: approval ? approvers(approval.votes).length : 0,
    groups: approval ? activeGroups(approval) : [],
    escalationGroups: approval?.escalationGroups ?? [],
    escalated: approval?.escalated ?? false,
    ...(approval ? { expiresAt: approval.expiresAt } : {}),
    actionHash: request.actionHash,
    shortHash: shortHash(request.actionHash),
    votes: (approval?.votes ?? []).map((vote) => ({
      approver: vote.approver,
      decision: vote.decision,
      ...(vote.comment ? { comment: vote.comment } : {}),
      channel: vote.channel,
      time: vote.time,
    })),
    ...(pending ? {} : { decidedAt: request.updatedAt }),
    actions,
    ...(options.reviewBaseUrl ? { reviewUrl: reviewUrl(options.reviewBaseUrl, request.id) } : {}),
    ...(approval?.stepUp ? { stepUp: true } : {}),
  };
}
