/**
 * What the workflow Lambda does at each stage of the approval state machine. The entry point
 * (workflow.ts) wires real clients; this module takes them as arguments so every stage runs the
 * same way in Lambda and in the tests that emulate it.
 */
import {
  parseWorkflowEvent,
  type TaskFailure,
  type WaitingStage,
  type WorkflowEvent,
} from '../adapters/aws/approval-execution.ts';
import type { SfnSender } from '../adapters/aws/clients.ts';
import { resumeWaitingTask } from '../adapters/aws/step-functions-workflow.ts';
import type { TaskTokenStore } from '../adapters/aws/task-token-store.ts';
import { NotFoundError } from '../core/errors.ts';
import type { ActionRequest, Status } from '../core/model.ts';
import type { ApprovalNotifications } from '../core/notifications.ts';
import type { Clock } from '../core/ports/clock.port.ts';
import type { RequestStore } from '../core/ports/store.port.ts';
import type { ApprovalService } from '../core/service.ts';
import type { Logger } from '../observability/logger.ts';

export interface WorkflowStageDependencies {
  readonly service: ApprovalService;
  readonly store: RequestStore;
  readonly tokens: TaskTokenStore;
  readonly sfn: SfnSender;
  /** Posts the cards (Notify, Escalate) and brings them up to date (Finalize). */
  readonly notifications: ApprovalNotifications;
  readonly clock: Clock;
  readonly logger: Logger;
}

export interface StageResult {
  readonly request_id: string;
  readonly stage: WorkflowEvent['stage'];
  readonly status: Status;
  /** Waiting stages: whether this call resumed the execution because the request was decided already. */
  readonly resumed?: boolean;
  /** Waiting stages: on how many channels approvers were told. */
  readonly notified?: number;
}

/** Tokens are kept a day past the deadline; after it they can resume nothing. */
const TOKEN_GRACE_MS = 24 * 60 * 60 * 1000;
const MAX_CAUSE_CHARS = 2_000;

/** How long a request's task token is kept: a day past the deadline (or past now, if later). */
export function tokenKeepUntil(request: ActionRequest, clock: Clock): Date {
  const now = clock.now().getTime();
  const expiresAt = request.approval ? Date.parse(request.approval.expiresAt) : now;
  return new Date(Math.max(expiresAt, now) + TOKEN_GRACE_MS);
}

export type WorkflowHandler = (event: unknown) => Promise<StageResult>;

export function createWorkflowHandler(deps: WorkflowStageDependencies): WorkflowHandler {
  const { logger } = deps;
  return async (raw) => {
    const event = parseWorkflowEvent(raw);
    try {
      switch (event.stage) {
        case 'notify':
        case 'escalate':
          return await waitForDecision(deps, event.stage, event.request_id, event.task_token);
        case 'expire':
          return await expire(deps, event.request_id, event.failure);
        case 'finalize':
          return await finalize(deps, event.request_id);
      }
    } catch (error) {
      // Logged here, with the request, before the state machine's Retry or Catch sees the error.
      logger.error('workflow stage failed', { requestId: event.request_id, stage: event.stage, error });
      throw error;
    }
  };
}

async function read(store: RequestStore, requestId: string): Promise<ActionRequest> {
  const request = await store.get(requestId);
  if (!request) throw new NotFoundError(requestId);
  return request;
}

/**
 * Notify / Escalate: store the token, then re-read the request. A decision that committed before
 * the token was stored found no token to resume; the re-read sees it (strongly consistent), and
 * this call resumes the execution instead. Only a still-pending request is fanned out.
 */
async function waitForDecision(
  deps: WorkflowStageDependencies,
  stage: WaitingStage,
  requestId: string,
  taskToken: string,
): Promise<StageResult> {
  const { service, store, tokens, sfn, clock, logger } = deps;
  const before = stage === 'escalate' ? await service.escalate(requestId) : await read(store, requestId);
  await tokens.put(
    { requestId, stage, taskToken, storedAt: clock.now().toISOString() },
    tokenKeepUntil(before, clock),
  );
  const request = await read(store, requestId);
  if (request.status !== 'pending') {
    const resumed = await resumeWaitingTask(sfn, request, taskToken, logger);
    return { request_id: requestId, stage, status: request.status, resumed, notified: 0 };
  }
  const notified = await deps.notifications.notify(requestId, stage);
  logger.info('approvers told', { requestId, stage, channels: notified });
  return { request_id: requestId, stage, status: request.status, resumed: false, notified };
}

/**
 * Expire: runs only after the deadline (a Wait holds it until then). When an earlier stage failed,
 * the request still expires — fail closed — and the failure is logged with it.
 */
async function expire(
  deps: WorkflowStageDependencies,
  requestId: string,
  failure: TaskFailure | undefined,
): Promise<StageResult> {
  if (failure?.Error && failure.Error !== 'States.Timeout') {
    deps.logger.warn('an approval stage failed; the request expires at its deadline (fail closed)', {
      requestId,
      failedWith: failure.Error,
      cause: failure.Cause?.slice(0, MAX_CAUSE_CHARS),
      failClosed: true,
    });
  }
  const failed = failure?.Error && failure.Error !== 'States.Timeout';
  const request = await deps.service.expire(
    requestId,
    failed
      ? { why: `approval workflow failed (${failure.Error.slice(0, 100)}); expired at the deadline` }
      : {},
  );
  // Debug: an expiry is logged once, as a lifecycle event (request expired).
  deps.logger.debug('expiry checked', { requestId, status: request.status });
  return { request_id: requestId, stage: 'expire', status: request.status };
}

/**
 * Finalize: the request is decided. The approvers' cards show the outcome and lose their buttons
 * (a card already updated by the deciding vote is updated again to the same state, harmlessly).
 */
async function finalize(deps: WorkflowStageDependencies, requestId: string): Promise<StageResult> {
  const request = await read(deps.store, requestId);
  // The execution is past its waiting task: the sweeper's reconciler has nothing to resume.
  const token = await deps.tokens.get(requestId);
  if (token && token.settledAt === undefined) {
    await deps.tokens.settle(token, deps.clock.now(), tokenKeepUntil(request, deps.clock));
  }
  await deps.notifications.refresh(requestId);
  if (request.status === 'pending') {
    deps.logger.warn('approval execution ended while the request is pending; the sweeper expires it', {
      requestId,
      expiresAt: request.approval?.expiresAt,
      failClosed: true,
    });
  } else {
    deps.logger.info('approval finished', {
      requestId,
      status: request.status,
      callbackRequested: typeof request.context.callback_url === 'string',
    });
  }
  return { request_id: requestId, stage: 'finalize', status: request.status };
}
