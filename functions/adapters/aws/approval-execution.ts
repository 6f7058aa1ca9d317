/**
 * The contract between the approval state machine (cdk/), the Step Functions workflow adapter that
 * starts it, and the workflow Lambda it invokes: the execution input, the payload of each stage and
 * the output a decision resumes a waiting task with. Plain data and pure functions, no SDK, so the
 * CDK app can import the field names it renders into the definition.
 */
import type { ActionRequest, Status } from '../../core/model.ts';

/** Stages of the state machine that invoke the workflow Lambda. */
export const WORKFLOW_STAGES = ['notify', 'escalate', 'expire', 'finalize'] as const;
export type WorkflowStage = (typeof WORKFLOW_STAGES)[number];

/** Stages that wait for a callback (`lambda:invoke.waitForTaskToken`) and so hold a task token. */
export type WaitingStage = Extract<WorkflowStage, 'notify' | 'escalate'>;

/** Input of one approval execution, computed when it starts. */
export interface ApprovalExecutionInput {
  readonly request_id: string;
  /** Whether the escalation groups are brought in when the first stage times out. */
  readonly escalates: boolean;
  /** How long `Notify` waits: until the escalation if there is one, else until the deadline. */
  readonly notify_timeout_seconds: number;
  /** How long `Escalate` waits: the time left from the escalation to the deadline (≥ 1). */
  readonly escalation_timeout_seconds: number;
  /** RFC 3339; the `Wait` before `Expire` holds until then, so an expiry never runs early. */
  readonly expires_at: string;
  readonly escalate_at?: string;
}

/** Payloads the state machine sends to the workflow Lambda, one shape per stage. */
export type WorkflowEvent =
  | { readonly stage: WaitingStage; readonly request_id: string; readonly task_token: string }
  | { readonly stage: 'expire'; readonly request_id: string; readonly failure?: TaskFailure }
  | { readonly stage: 'finalize'; readonly request_id: string; readonly decision?: unknown };

/** What a `Catch` puts at its ResultPath: the error name and cause of the failed or timed-out task. */
export interface TaskFailure {
  readonly Error?: string;
  readonly Cause?: string;
}

/** The output a waiting task is resumed with (SendTaskSuccess), and the result of `Expire`. */
export interface StageDecision {
  readonly request_id: string;
  readonly status: Status;
}

/** JSONPath field names the state machine definition reads; keep in step with the types above. */
export const EXECUTION_FIELDS = {
  requestId: '$.request_id',
  escalates: '$.escalates',
  notifyTimeout: '$.notify_timeout_seconds',
  escalationTimeout: '$.escalation_timeout_seconds',
  expiresAt: '$.expires_at',
  /** Where a waiting task's callback output, or Expire's result, is kept. */
  decision: '$.decision',
  /** Where a Catch keeps the error of the stage that failed or timed out. */
  failure: '$.failure',
} as const;

/** The Lambda error names (errorType) the state machine retries: transient, nothing was written. */
export const RETRYABLE_HANDLER_ERRORS = ['StoreUnavailableError', 'ContentionError'] as const;
/** A timer fired a little early (clock skew); retried after a short pause. */
export const NOT_DUE_ERROR = 'NotDueError';

const EXECUTION_NAME = /^[A-Za-z0-9_-]{1,80}$/;

/**
 * The execution name of a request: the request id itself (`ar_<ULID>`), so one request can never
 * have two executions. Ids outside Step Functions' name alphabet are hashed into it by the caller.
 */
export function isExecutionName(name: string): boolean {
  return EXECUTION_NAME.test(name);
}

function seconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

/** Timings for a pending request, measured from `now` (the moment its execution starts). */
export function approvalExecutionInput(request: ActionRequest, now: Date): ApprovalExecutionInput {
  const approval = request.approval;
  if (request.status !== 'pending' || !approval) {
    throw new Error(
      `request ${request.id} is ${request.status}${approval ? '' : ' without approval terms'}; only a pending request with approval terms has an approval execution`,
    );
  }
  const nowMs = now.getTime();
  const expiresAt = Date.parse(approval.expiresAt);
  const escalateAt =
    approval.escalateAt && !approval.escalated && approval.escalationGroups.length > 0
      ? Date.parse(approval.escalateAt)
      : undefined;
  const escalates = escalateAt !== undefined && escalateAt < expiresAt;
  return {
    request_id: request.id,
    escalates,
    notify_timeout_seconds: seconds((escalates ? escalateAt : expiresAt) - nowMs),
    escalation_timeout_seconds: escalates ? seconds(expiresAt - Math.max(nowMs, escalateAt)) : 1,
    expires_at: approval.expiresAt,
    ...(escalates && approval.escalateAt ? { escalate_at: approval.escalateAt } : {}),
  };
}

/** The callback output for a request that left `pending`. */
export function stageDecision(request: ActionRequest): StageDecision {
  return { request_id: request.id, status: request.status };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Validates a payload from the state machine. Throws a message that names the field, so a
 * definition that drifted from this contract fails loudly in the first execution.
 */
export function parseWorkflowEvent(event: unknown): WorkflowEvent {
  if (!isRecord(event)) throw new TypeError(`workflow event must be a JSON object, got ${typeof event}`);
  const { stage, request_id: requestId } = event;
  if (typeof requestId !== 'string' || requestId === '') {
    throw new TypeError('workflow event has no request_id (string); check the state machine payload');
  }
  switch (stage) {
    case 'notify':
    case 'escalate': {
      const token = event.task_token;
      if (typeof token !== 'string' || token === '') {
        throw new TypeError(
          `workflow event of stage ${stage} has no task_token; the task must pass $$.Task.Token`,
        );
      }
      return { stage, request_id: requestId, task_token: token };
    }
    case 'expire': {
      const failure = event.failure;
      if (failure === undefined || failure === null) return { stage, request_id: requestId };
      if (!isRecord(failure)) throw new TypeError('workflow event failure must be an object {Error, Cause}');
      return {
        stage,
        request_id: requestId,
        failure: {
          ...(typeof failure.Error === 'string' ? { Error: failure.Error } : {}),
          ...(typeof failure.Cause === 'string' ? { Cause: failure.Cause } : {}),
        },
      };
    }
    case 'finalize':
      return { stage, request_id: requestId, decision: event.decision };
    default:
      throw new TypeError(
        `workflow event has an unknown stage ${JSON.stringify(stage)}; expected one of ${WORKFLOW_STAGES.join(', ')}`,
      );
  }
}
