/**
 * TypeScript SDK of the Action-Level Approvals gateway, for agents and pipelines.
 *
 * ```ts
 * const client = new ApprovalsClient({ baseUrl: 'http://127.0.0.1:8787', token: process.env.ALA_TOKEN });
 * const result = await withApproval(client, exportRequest, ({ credentials }) => runExport(credentials));
 * ```
 */
export {
  type ApprovedAction,
  assertApproved,
  needsApproval,
  type WithApprovalOptions,
  withApproval,
} from './approval.ts';
export {
  ApprovalsClient,
  type ApprovalsClientOptions,
  type CallOptions,
  type DecisionInput,
  type GetOptions,
  type PendingOptions,
  type RetryNotice,
  type SubmitOptions,
  type WaitForDecisionOptions,
} from './client.ts';
export {
  ActionNotApprovedError,
  type ApiErrorCode,
  ApprovalsApiError,
  ApprovalsError,
  ApprovalsNetworkError,
  type NetworkErrorCode,
  type NotApprovedStatus,
} from './errors.ts';
export {
  type AgentsApprovalItem,
  type AgentsRunResultLike,
  type AiSdkApprovalRequest,
  type AiSdkApprovalResponse,
  aiSdkApprovalResponses,
  type GatewayInterrupt,
  gatewayInterrupt,
  isGatewayInterrupt,
  type NotApprovedHandler,
  resolveAgentsInterruptions,
  ToolApprovals,
  type ToolApprovalsOptions,
} from './frameworks.ts';
export { DEFAULT_RETRY, type RetryOptions } from './retry.ts';
export {
  type ActionRequestInput,
  type ActionRequestList,
  type ActionRequestView,
  type ApprovedTerms,
  type AuditEventView,
  type AuditView,
  DECIDED_STATUSES,
  type DecisionView,
  type ErrorBody,
  type EvaluationView,
  type GrantCredentials,
  type GrantTerms,
  type GrantView,
  type JsonObject,
  MAX_WAIT_SECONDS,
  type NarrowTo,
  type OutcomeStatus,
  type PolicyOutcome,
  type Reason,
  type RequestStatus,
  type Vote,
  type VoteDecision,
  type WhoamiView,
} from './types.ts';
