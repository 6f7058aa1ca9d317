/**
 * Wire types of the HTTP API, written out so the published package stands alone: its declarations
 * import nothing (no zod, no server code). The gateway's zod schemas stay the authority: a type
 * check in test/types/ fails when these and the schemas' `z.input`/`z.infer` types differ.
 */

/** A JSON object: `args`, `properties`, `context` and audit `data` are free-form. */
export type JsonObject = Record<string, unknown>;

/** What an agent submits: the action, the resource it acts on, and why (AuthZEN-shaped). */
// A type alias, not an interface: callers may cast a parsed JSON object to it.
export type ActionRequestInput = {
  action: {
    /** Letters, digits and `. _ : / -`, e.g. `data.export`. */
    name: string;
    args?: JsonObject | undefined;
  };
  resource: {
    type: string;
    id: string;
    properties?: JsonObject | undefined;
  };
  context?:
    | {
        justification?: string | undefined;
        /** The human the agent acts for, e.g. `user:alice@example.gov`; that human cannot approve. */
        on_behalf_of?: string | undefined;
        agent?:
          | {
              name?: string | undefined;
              model?: string | undefined;
              session_id?: string | undefined;
              tool_call_id?: string | undefined;
            }
          | undefined;
        ticket?: string | undefined;
        break_glass?: boolean | undefined;
        /** An `https:` URL. */
        callback_url?: string | undefined;
        attributes?: JsonObject | undefined;
      }
    | undefined;
};

/** Statuses of a request; all but `pending` are final. */
export type RequestStatus = 'pending' | 'approved' | 'denied' | 'rejected' | 'expired' | 'cancelled';
export type PolicyOutcome = 'allow' | 'deny' | 'require_approval';
export type VoteDecision = 'approve' | 'reject';
export type OutcomeStatus = 'succeeded' | 'failed';

export interface Reason {
  code: string;
  message: string;
}

/** What the policy grants an approved action. */
export interface GrantTerms {
  type: 'none' | 'aws_sts';
  role?: string | undefined;
  actions?: string[] | undefined;
  resources?: string[] | undefined;
  window_seconds?: number | undefined;
}

/** What an approval of less than was asked covers; votes count together only on the same `terms_hash`. */
export interface ApprovedTerms {
  actions: string[];
  resources: string[];
  window_seconds: number;
  terms_hash: string;
}

/** An approval narrower than asked (the `narrow_to` of a vote); each omitted term stays as asked. */
export interface NarrowTo {
  actions?: string[] | undefined;
  resources?: string[] | undefined;
  window_seconds?: number | undefined;
}

export interface Vote {
  approver: string;
  decision: VoteDecision;
  comment?: string | undefined;
  channel: string;
  time: string;
  /** Present when the approver approved less than was asked. */
  terms?: ApprovedTerms | undefined;
}

/** A request as the gateway shows it: status, policy decision, approvals, grant, `agent_message`. */
export interface ActionRequestView {
  id: string;
  status: RequestStatus;
  requester: string;
  action: { name: string; args: JsonObject };
  resource: { type: string; id: string; properties: JsonObject };
  context: JsonObject;
  action_hash: string;
  decision: {
    outcome: PolicyOutcome;
    reasons: Reason[];
    policy_digest: string;
    input_hash: string;
    notify?: string[] | undefined;
    post_review?: boolean | undefined;
  };
  approval?:
    | {
        required: number;
        received: number;
        groups: string[];
        escalation_groups: string[];
        escalated: boolean;
        expires_at: string;
        escalate_at?: string | undefined;
        votes: Vote[];
      }
    | undefined;
  grant?: (GrantTerms & { redeemed_at?: string | undefined }) | undefined;
  /** Present when approved narrower than asked: the approved terms (`grant` carries them) and the grant as asked. */
  narrowed?: { terms: ApprovedTerms; asked: GrantTerms } | undefined;
  outcome?: { status: OutcomeStatus; detail?: string | undefined; time: string } | undefined;
  created_at: string;
  updated_at: string;
  /** Written for an LLM: what happened, and not to route around the decision. */
  agent_message: string;
  links: Record<string, string>;
}

export interface ActionRequestList {
  items: ActionRequestView[];
  count: number;
  /** Present when more may follow: pass it back as `cursor` to continue; the listing ends without it. */
  cursor?: string | undefined;
}

export interface AuditEventView {
  request_id: string;
  seq: number;
  type: string;
  time: string;
  actor: string;
  data: JsonObject;
  prev_hash: string;
  hash: string;
}

export interface AuditView {
  request_id: string;
  events: AuditEventView[];
  /** The head the request record keeps: the chain must reach it (a deleted tail is found). */
  recorded_head: { seq: number; hash: string };
  verification: {
    ok: boolean;
    count?: number | undefined;
    head?: string | undefined;
    problems?: { seq: number; code: string; message: string }[] | undefined;
  };
}

export interface GrantCredentials {
  access_key_id: string;
  secret_access_key: string;
  session_token: string;
  expiration: string;
  usable_until: string;
  region?: string | undefined;
}

export interface GrantView {
  request_id: string;
  action_hash: string;
  grant: { type: 'none' | 'aws_sts'; role?: string | undefined };
  credentials?: GrantCredentials | undefined;
  agent_message: string;
}

export interface EvaluationView {
  outcome: PolicyOutcome;
  reasons: Reason[];
  approval?:
    | {
        groups: string[];
        min_approvals: number;
        timeout_seconds: number;
        escalate_after_seconds?: number | undefined;
        escalation_groups?: string[] | undefined;
        exclude?: string[] | undefined;
        channels?: string[] | undefined;
      }
    | undefined;
  grant?: GrantTerms | undefined;
  policy_digest: string;
  input_hash: string;
  action_hash: string;
}

/** The body of every 4xx/5xx answer. */
export interface ErrorBody {
  error: string;
  message: string;
  details?: JsonObject | undefined;
}

/** The answer to a vote: the request, and `vote` as it stands (`recorded` false: cast earlier, nothing new). */
export interface DecisionView extends ActionRequestView {
  vote: {
    approver: string;
    decision: VoteDecision;
    channel: string;
    time: string;
    terms?: ApprovedTerms | undefined;
    /** true when this call recorded the vote; false when the same vote had been recorded earlier. */
    recorded: boolean;
  };
}

/** Who the gateway takes the caller to be; `review` when asked about a request. */
export interface WhoamiView {
  /** The id approvals, exclusions and the audit trail use, e.g. `user:bob@example.gov`. */
  principal: string;
  /** The part of the id before the first colon: `user`, `agent` or `iam`. */
  type: string;
  /** `bearer`: a token of the local gateway; `iam`: AWS SigV4 through API Gateway. */
  authentication: 'bearer' | 'iam';
  /** The policy data's groups the caller is a member of. */
  groups: string[];
  /** Whether the caller may read every request and audit trail. */
  auditor: boolean;
  /** Chat user ids the policy data binds to the caller. */
  chat_identities: { slack: string[]; teams: string[] };
  /** The policy bundle these answers come from. */
  policy_digest: string;
  review?:
    | {
        request_id: string;
        status: string;
        /** Whether a vote from the caller would be counted now. */
        may_vote: boolean;
        /** Why not, when `may_vote` is false: the code and message a vote would be refused with. */
        reason?: Reason | undefined;
        /** The groups whose members may vote now (escalation groups once escalated). */
        approving_groups: string[];
        your_vote?: { decision: VoteDecision; channel: string; time: string } | undefined;
      }
    | undefined;
}

/** Statuses after which a request never changes again (an approved one only gains a grant and outcome). */
export const DECIDED_STATUSES: ReadonlySet<RequestStatus> = new Set([
  'approved',
  'denied',
  'rejected',
  'expired',
  'cancelled',
]);

/** The longest long-poll the gateway holds (`?wait=N`, `Prefer: wait=N`). */
export const MAX_WAIT_SECONDS = 25;
