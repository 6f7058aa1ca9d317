/**
 * Domain model of an action request. Plain data: every field survives a JSON round trip, so any
 * store can persist it as-is.
 */

export const STATUSES = ['pending', 'approved', 'denied', 'rejected', 'expired', 'cancelled'] as const;
export type Status = (typeof STATUSES)[number];

/** Who is asking. Always derived from authentication, never from a request body. */
export interface Subject {
  /** Principal id, `<type>:<name>`, e.g. `agent:demo-exporter`, `user:bob@example.gov`. */
  readonly id: string;
  /** The part of the id before the first colon: `agent`, `user`, `role`, … */
  readonly type: string;
}

export interface Action {
  readonly name: string;
  readonly args: Record<string, unknown>;
}

export interface Resource {
  readonly type: string;
  readonly id: string;
  readonly properties: Record<string, unknown>;
}

export interface RequestContext {
  readonly justification?: string;
  readonly on_behalf_of?: string;
  readonly agent?: Record<string, unknown>;
  readonly callback_url?: string;
  readonly [key: string]: unknown;
}

/** The body an agent submits (AuthZEN-shaped). */
export interface ActionRequestInput {
  readonly action: Action;
  readonly resource: Resource;
  readonly context: RequestContext;
}

/** What the gateway vouches for about a resource, as opposed to the agent's `properties`. */
export interface VouchedResource {
  /** Whether any trusted source knows the resource; an unknown one gets its family's strictest path. */
  readonly known: boolean;
  /**
   * Where the attributes come from: `inventory` (policy data), `tags` (the resource's own tags, read
   * from AWS by the gateway when enabled) or `none`.
   */
  readonly source: 'inventory' | 'tags' | 'none';
  /** The inventory pattern that matched (inventory only). */
  readonly match?: string;
  /** `environment`, `data_classification`, `owner`, … as the source states them. */
  readonly attributes: Record<string, string>;
}

/** Input document handed to the Rego entrypoint `approvals/decision`. */
export interface PolicyInput {
  readonly subject: Subject;
  readonly action: Action;
  /** `properties` are the agent's claims; see `vouched` for what the gateway stands behind. */
  readonly resource: Resource;
  readonly context: RequestContext;
  /** RFC 3339 UTC timestamp of the evaluation; policies never read a clock of their own. */
  readonly now: string;
  /** Attributes the gateway resolved itself; the agent cannot set them. */
  readonly vouched?: { readonly resource: VouchedResource };
  /** Present only when an approver's narrowed approval is re-evaluated (docs/policies.md). */
  readonly narrowing?: NarrowingInput;
}

/** `input.narrowing`: a narrowed approval the policy re-evaluates before the vote is recorded. */
export interface NarrowingInput {
  readonly request_id: string;
  readonly approver: string;
  /** The terms the approver would approve. */
  readonly actions: readonly string[];
  readonly resources: readonly string[];
  readonly window_seconds: number;
  readonly terms_hash: string;
  /** The grant's terms as the request asked them. */
  readonly asked: Terms;
}

/** One resource inventory entry: resource ids matching `match` (`*` any run, `?` one character). */
export interface InventoryEntry {
  readonly match: string;
  readonly attributes: Record<string, string>;
}

export type PolicyOutcome = 'allow' | 'deny' | 'require_approval';

export interface Reason {
  readonly code: string;
  readonly message: string;
}

export interface ApprovalSpec {
  readonly groups: readonly string[];
  readonly min_approvals: number;
  readonly timeout_seconds: number;
  readonly escalate_after_seconds?: number;
  readonly escalation_groups?: readonly string[];
  readonly exclude?: readonly string[];
  readonly channels?: readonly string[];
  /**
   * Step-up: approvers must have signed in within the last few minutes (the review page's
   * `stepUpMaxAgeSeconds`) to vote; votes through the API, Slack or Teams are refused.
   */
  readonly step_up?: boolean;
}

export interface GrantSpec {
  readonly type: 'none' | 'aws_sts';
  readonly role?: string;
  readonly actions?: readonly string[];
  readonly resources?: readonly string[];
  readonly window_seconds?: number;
  /** Actions or resources with `*`/`?` that the policy means as written; any other wildcard is refused. */
  readonly wildcards?: readonly string[];
}

/** What the policy engine returns, after validation. Anything doubtful has already become `deny`. */
export interface PolicyDecision {
  readonly outcome: PolicyOutcome;
  readonly reasons: readonly Reason[];
  readonly approval?: ApprovalSpec;
  readonly grant?: GrantSpec;
  /** Break-glass style decisions: who must be told, and whether a review after the fact is owed. */
  readonly notify?: readonly string[];
  readonly post_review?: boolean;
  /** `sha256:<hex>` of the wasm module and its data document. */
  readonly policyDigest: string;
  /** `sha256:<hex>` of the canonical JSON of the policy input. */
  readonly inputHash: string;
  /** What a candidate bundle loaded in shadow mode decided; it never changes this decision. */
  readonly shadow?: ShadowVerdict;
}

/** The candidate bundle's verdict beside the active one's (recorded in `policy.evaluated`). */
export interface ShadowVerdict {
  readonly policy_digest: string;
  readonly outcome: PolicyOutcome;
  readonly min_approvals?: number;
  /** True when the outcome or the approval terms differ from the active decision. */
  readonly diverged: boolean;
  /** What differs, e.g. `outcome allow→require_approval`, `quorum 1→2` (empty when not diverged). */
  readonly changes: readonly string[];
}

/** A human an agent may act for (`context.on_behalf_of`), optionally only within a period. */
export interface Delegation {
  /** A `user:` principal. */
  readonly principal: string;
  /** RFC 3339; the delegation holds from this instant on. */
  readonly not_before?: string;
  /** RFC 3339; the delegation holds until this instant (exclusive). */
  readonly not_after?: string;
}

/** Limits as policy data states them (core/limits.ts), any subset. */
export interface LimitOverrides {
  readonly calls_per_minute?: number;
  readonly submissions_per_minute?: number;
  readonly max_pending?: number;
}

/** What policy data declares about one agent. */
export interface AgentDeclaration {
  /** The people answerable for the agent; never eligible to approve its requests. */
  readonly owners: readonly string[];
  /** The humans it may name as `context.on_behalf_of`; anyone else is refused. */
  readonly acts_for?: readonly Delegation[];
  /** IAM role ARNs whose sessions are this agent (AWS deployments). */
  readonly aws_roles?: readonly string[];
}

/**
 * Group membership, chat identity bindings and agent declarations, read from the policy bundle's
 * data (docs/design.md#42-policy-contract). Every principal id in it is canonical (functions/core/principals.ts).
 */
export interface Directory {
  readonly groups: Record<string, readonly string[]>;
  readonly identities: {
    readonly slack?: Record<string, string>;
    readonly teams?: Record<string, string>;
    /**
     * Review page sign-in: OpenID Connect subjects (`sub`, or `email:<address>` for a verified
     * e-mail claim) of the configured identity provider, each bound to a principal.
     */
    readonly oidc?: Record<string, string>;
  };
  /** Keyed by the agent's canonical `agent:` id. An agent not listed has no owners and acts for nobody. */
  readonly agents?: Record<string, AgentDeclaration>;
  /** Resource inventory, first match wins: what the gateway vouches for about a resource. */
  readonly inventory?: readonly InventoryEntry[];
  /**
   * Per channel, where each group's approvers are told: `notifications.slack["data-owners"]` is a
   * Slack channel id. A group not routed goes to the channel's configured default.
   */
  readonly notifications?: Record<string, Record<string, string>>;
  /** Overrides of the configured limits (core/limits.ts): for everyone, and per principal. */
  readonly limits?: {
    readonly default?: LimitOverrides;
    readonly principals?: Record<string, LimitOverrides>;
  };
}

export type VoteDecision = 'approve' | 'reject';

/** What an approver asks to narrow an approval to; each omitted term stays as asked (core/narrowing.ts). */
export interface NarrowTo {
  readonly actions?: readonly string[];
  readonly resources?: readonly string[];
  readonly window_seconds?: number;
}

/** A grant's scope: what narrowing compares. */
export interface Terms {
  readonly actions: readonly string[];
  readonly resources: readonly string[];
  readonly window_seconds: number;
}

/** Terms a vote approved, validated as a subset of the request's grant, with their own hash. */
export interface NarrowedTerms extends Terms {
  /** `sha256:<hex>` binding the request id, its action hash and these terms (core/narrowing.ts termsHash). */
  readonly terms_hash: string;
}

export interface Vote {
  readonly approver: string;
  readonly decision: VoteDecision;
  readonly comment?: string;
  readonly channel: string;
  readonly time: string;
  /** Present when the approver approved less than was asked: the terms this vote approves. */
  readonly terms?: NarrowedTerms;
}

export interface ApprovalState {
  readonly groups: readonly string[];
  readonly minApprovals: number;
  readonly escalationGroups: readonly string[];
  readonly exclude: readonly string[];
  readonly channels: readonly string[];
  readonly timeoutSeconds: number;
  /** When the request expires if undecided (RFC 3339). */
  readonly expiresAt: string;
  /** When the escalation groups are brought in, if the policy asks for escalation. */
  readonly escalateAt?: string;
  readonly escalated: boolean;
  readonly votes: readonly Vote[];
  /** Votes count only from a fresh sign-in on the review page (policy `approval.step_up`). */
  readonly stepUp?: boolean;
  /** Approvers whose vote arrived after the decision (recorded once each as `review.late`). */
  readonly lateVoters?: readonly string[];
}

export interface OutcomeReport {
  readonly status: 'succeeded' | 'failed';
  readonly detail?: string;
  readonly time: string;
}

export interface ActionRequest {
  readonly id: string;
  /** Increments with every committed transition; stores use it for optimistic concurrency. */
  readonly version: number;
  readonly status: Status;
  readonly subject: Subject;
  readonly action: Action;
  readonly resource: Resource;
  readonly context: RequestContext;
  readonly actionHash: string;
  readonly decision: {
    readonly outcome: PolicyOutcome;
    readonly reasons: readonly Reason[];
    readonly policyDigest: string;
    readonly inputHash: string;
    readonly notify?: readonly string[];
    readonly postReview?: boolean;
  };
  readonly approval?: ApprovalState;
  /**
   * What the gateway vouched for about the resource when the policy decided (requests made before
   * this was recorded have none). Shown to approvers beside the agent's own claims.
   */
  readonly vouched?: VouchedResource;
  /** What approval issues; once approved narrower, only the narrowed scope (see `narrowed`). */
  readonly grant?: GrantSpec;
  /** Set when the request was approved narrower than asked: the approved terms and the grant as asked. */
  readonly narrowed?: { readonly terms: NarrowedTerms; readonly asked: GrantSpec };
  readonly grantRedeemedAt?: string;
  readonly outcome?: OutcomeReport;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** Head of this request's audit chain: the last event's seq and hash. */
  readonly auditSeq: number;
  readonly auditHead: string;
}

export const AUDIT_EVENT_TYPES = [
  'request.submitted',
  'policy.evaluated',
  'approval.requested',
  'notification.sent',
  'review.recorded',
  'review.late',
  'request.approved',
  'request.rejected',
  'request.denied',
  'request.expired',
  'request.escalated',
  'request.cancelled',
  'grant.redeemed',
  'grant.refused',
  'action.outcome',
] as const;
export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];

/** One link of a request's hash chain (docs/design.md#44-audit-events). */
export interface AuditEvent {
  readonly request_id: string;
  readonly seq: number;
  readonly type: AuditEventType;
  readonly time: string;
  readonly actor: string;
  readonly data: Record<string, unknown>;
  readonly prev_hash: string;
  readonly hash: string;
}

export const GENESIS_HASH = `sha256:${'0'.repeat(64)}`;
