import type { ActionRequest } from '../model.ts';

/**
 * Durable waiting for a pending approval: notify, escalate when due, expire at the deadline
 * (docs/design.md#46-approval-workflow). On AWS a Step Functions execution; locally in-process timers rebuilt from the store.
 * The store's conditional write stays the judge: a timer that loses to a vote is a no-op.
 */
export interface ApprovalWorkflow {
  /** Begins waiting for a newly pending request. Idempotent per request id. */
  start(request: ActionRequest): Promise<void>;
  /** The request left `pending` (decided or cancelled): stop waiting. Idempotent. */
  decided(request: ActionRequest): Promise<void>;
}
