/**
 * ApprovalWorkflow on Step Functions (docs/design.md#46-approval-workflow): one standard execution per pending request,
 * named after the request, waiting in `Notify`/`Escalate` (`.waitForTaskToken`) until a decision
 * resumes it or its timeout moves it on. The store's conditional write stays the judge: when a
 * timer and a vote race, the loser is a no-op on both sides.
 */
import { createHash } from 'node:crypto';
import type { ActionRequest } from '../../core/model.ts';
import type { ApprovalWorkflow } from '../../core/ports/workflow.port.ts';
import type { Logger } from '../../observability/logger.ts';
import { approvalExecutionInput, isExecutionName, stageDecision } from './approval-execution.ts';
import { type SfnSender, sfnCommands } from './clients.ts';
import type { TaskTokenStore } from './task-token-store.ts';

export interface StepFunctionsWorkflowOptions {
  readonly client: SfnSender;
  readonly stateMachineArn: string;
  readonly tokens: TaskTokenStore;
  /** @default no logging */
  readonly logger?: Logger;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

/** Errors SendTaskSuccess answers when the task is over already: the timer (or another caller) won. */
const SETTLED_TASK_ERRORS = new Set(['TaskDoesNotExist', 'InvalidToken', 'TaskTimedOut']);

/** The execution name of a request: its id when Step Functions accepts it, else a digest of it. */
export function executionName(requestId: string): string {
  if (isExecutionName(requestId)) return requestId;
  return `req-${createHash('sha256').update(requestId, 'utf8').digest('hex').slice(0, 64)}`;
}

export class StepFunctionsWorkflow implements ApprovalWorkflow {
  readonly #client: SfnSender;
  readonly #stateMachineArn: string;
  readonly #tokens: TaskTokenStore;
  readonly #logger: Logger | undefined;
  readonly #now: () => Date;

  constructor(options: StepFunctionsWorkflowOptions) {
    if (
      !/^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[^:\s]{1,80}$/.test(options.stateMachineArn)
    ) {
      throw new Error(
        `stateMachineArn must be a Step Functions state machine ARN (arn:<partition>:states:<region>:<account>:stateMachine:<name>), got "${options.stateMachineArn}"`,
      );
    }
    this.#client = options.client;
    this.#stateMachineArn = options.stateMachineArn;
    this.#tokens = options.tokens;
    this.#logger = options.logger;
    this.#now = options.now ?? (() => new Date());
  }

  /**
   * Starts the request's execution. The name is the request id, so a retried submission or a
   * sweeper catching up can never start a second one: ExecutionAlreadyExists counts as started.
   */
  async start(request: ActionRequest): Promise<void> {
    await this.startIfMissing(request);
  }

  /** As start; true when this call started the execution, false when it existed already. */
  async startIfMissing(request: ActionRequest): Promise<boolean> {
    const input = approvalExecutionInput(request, this.#now());
    const { StartExecutionCommand } = await sfnCommands();
    try {
      const out = await this.#client.send(
        new StartExecutionCommand({
          stateMachineArn: this.#stateMachineArn,
          name: executionName(request.id),
          input: JSON.stringify(input),
        }),
      );
      this.#logger?.info('approval execution started', {
        requestId: request.id,
        executionArn: out.executionArn,
        escalates: input.escalates,
        notifyTimeoutSeconds: input.notify_timeout_seconds,
      });
      return true;
    } catch (error) {
      if (error instanceof Error && error.name === 'ExecutionAlreadyExists') {
        this.#logger?.debug('approval execution exists already', { requestId: request.id });
        return false;
      }
      throw error;
    }
  }

  /**
   * Resumes the waiting task with the outcome. Without a stored token the notify step has not
   * stored one yet; it re-reads the request after storing and resumes the execution itself.
   */
  async decided(request: ActionRequest): Promise<void> {
    if (request.status === 'pending') return;
    const stored = await this.#tokens.get(request.id);
    if (!stored) {
      this.#logger?.debug('no task token stored yet; the waiting stage resumes itself', {
        requestId: request.id,
      });
      return;
    }
    await this.resume(request, stored.taskToken);
  }

  /** SendTaskSuccess with the request's outcome; false when the task was over already. */
  resume(request: ActionRequest, taskToken: string): Promise<boolean> {
    return resumeWaitingTask(this.#client, request, taskToken, this.#logger);
  }
}

/**
 * SendTaskSuccess with the request's outcome. Returns false when the task was over already (it
 * timed out, or a duplicate callback came first), which is not an error: the store decided.
 */
export async function resumeWaitingTask(
  client: SfnSender,
  request: ActionRequest,
  taskToken: string,
  logger?: Logger,
): Promise<boolean> {
  const { SendTaskSuccessCommand } = await sfnCommands();
  try {
    await client.send(
      new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(stageDecision(request)) }),
    );
    logger?.info('approval execution resumed', { requestId: request.id, status: request.status });
    return true;
  } catch (error) {
    if (error instanceof Error && SETTLED_TASK_ERRORS.has(error.name)) {
      logger?.debug('waiting task was over already', { requestId: request.id, reason: error.name });
      return false;
    }
    throw error;
  }
}
