/**
 * Wire types of the HTTP API, derived from the gateway's zod schemas. Type-only imports: nothing of
 * the server (hono, zod) is loaded at run time, and the client runs anywhere `fetch` does.
 */
import type { z } from 'zod';
import type {
  ActionRequestBody,
  ActionRequestList as ActionRequestListSchema,
  AuditView as AuditViewSchema,
  DecisionBody,
  DecisionView as DecisionViewSchema,
  ErrorView as ErrorViewSchema,
  EvaluationView as EvaluationViewSchema,
  GrantView as GrantViewSchema,
  OutcomeBody,
  ActionRequestView as RequestViewSchema,
} from '../functions/http/schemas.ts';
import type { WhoamiView as WhoamiViewSchema } from '../functions/http/whoami.ts';

/** What an agent submits: the action, the resource it acts on, and why (AuthZEN-shaped). */
export type ActionRequestInput = z.input<typeof ActionRequestBody>;
/** A request as the gateway shows it: status, policy decision, approvals, grant, `agent_message`. */
export type ActionRequestView = z.infer<typeof RequestViewSchema>;
export type ActionRequestList = z.infer<typeof ActionRequestListSchema>;
export type RequestStatus = ActionRequestView['status'];
export type AuditView = z.infer<typeof AuditViewSchema>;
export type AuditEventView = AuditView['events'][number];
export type GrantView = z.infer<typeof GrantViewSchema>;
export type GrantCredentials = NonNullable<GrantView['credentials']>;
export type EvaluationView = z.infer<typeof EvaluationViewSchema>;
export type ErrorBody = z.infer<typeof ErrorViewSchema>;
export type VoteDecision = z.infer<typeof DecisionBody>['decision'];
/** The answer to a vote: the request, and `vote` as it stands (`recorded` false: cast earlier, nothing new). */
export type DecisionView = z.infer<typeof DecisionViewSchema>;
/** Who the gateway takes the caller to be; `review` when asked about a request. */
export type WhoamiView = z.infer<typeof WhoamiViewSchema>;
export type OutcomeStatus = z.infer<typeof OutcomeBody>['status'];

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
