import { Aws, Duration, Fn, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import {
  EXECUTION_FIELDS,
  NOT_DUE_ERROR,
  RETRYABLE_HANDLER_ERRORS,
  type WorkflowStage,
} from '../../functions/adapters/aws/approval-execution.ts';

/**
 * Lambda service errors worth retrying: the function did not run, was throttled, or its platform
 * failed (ClientExecutionTimeoutException: the invoke call itself timed out).
 */
export const LAMBDA_SERVICE_ERRORS = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
  'Lambda.ClientExecutionTimeoutException',
] as const;

export interface LambdaRetryOptions {
  /** @default Duration.seconds(2) */
  readonly interval?: Duration;
  /** @default 20 */
  readonly maxAttempts?: number;
  /** @default 2 */
  readonly backoffRate?: number;
  /** The longest wait between two attempts. @default Duration.minutes(2) */
  readonly maxDelay?: Duration;
  /** Full jitter (each wait uniform in 0…its computed value), so throttled executions do not retry in step. @default true */
  readonly jitter?: boolean;
}

/** The retry policy of every Lambda task, defaults applied. */
export function lambdaRetryPolicy(options: LambdaRetryOptions = {}): Required<LambdaRetryOptions> {
  const retry = {
    interval: options.interval ?? Duration.seconds(2),
    maxAttempts: options.maxAttempts ?? 20,
    backoffRate: options.backoffRate ?? 2,
    maxDelay: options.maxDelay ?? Duration.minutes(2),
    jitter: options.jitter ?? true,
  };
  if (
    !Number.isInteger(retry.maxAttempts) ||
    retry.maxAttempts < 0 ||
    retry.maxAttempts > 99 ||
    retry.backoffRate < 1
  ) {
    throw new Error(
      `lambdaRetry: maxAttempts must be a whole number 0–99 and backoffRate ≥ 1, got ${retry.maxAttempts} and ${retry.backoffRate}`,
    );
  }
  if (retry.maxDelay.toSeconds() < retry.interval.toSeconds()) {
    throw new Error(
      `lambdaRetry: maxDelay (${retry.maxDelay.toSeconds()} s) must be at least the interval (${retry.interval.toSeconds()} s)`,
    );
  }
  return retry;
}

/**
 * The longest time the retries can take, waits only (full jitter makes the expected time about
 * half): interval × backoffRate^n per retry, each capped at maxDelay.
 */
export function retryBudgetSeconds(options: LambdaRetryOptions = {}): number {
  const retry = lambdaRetryPolicy(options);
  let total = 0;
  for (let n = 0; n < retry.maxAttempts; n++) {
    total += Math.min(retry.maxDelay.toSeconds(), retry.interval.toSeconds() * retry.backoffRate ** n);
  }
  return total;
}

/** Where the state machine's log group lives; its name goes on with `<stack name>-approvals-<stack uuid>`. */
export const STATE_MACHINE_LOG_PREFIX = '/aws/vendedlogs/states/';

export interface ApprovalStateMachineProps {
  /** The workflow Lambda (functions/handlers/workflow.ts) every task invokes with a `stage`. */
  readonly workflowFunction: lambda.IFunction;
  /** Encrypts the execution log group. */
  readonly logKey: kms.IKey;
  readonly logRetention: logs.RetentionDays;
  /** @default - 2 s, doubling, at most 2 min apart, full jitter, 20 attempts (≤ 30 min of waits) */
  readonly lambdaRetry?: LambdaRetryOptions;
}

/**
 * The approval state machine (docs/design.md#46-approval-workflow), standard type, JSONPath:
 *
 * Notify (waitForTaskToken, TimeoutSecondsPath) ─success▶ Finalize
 *   └─States.Timeout▶ EscalateIfConfigured ─escalates▶ Escalate (waitForTaskToken) ─success▶ Finalize
 *                                          │                └─timeout / failure─┐
 *                                          └─otherwise───────────────────────────┴▶ WaitForDeadline ▶ Expire ▶ Finalize
 *   └─any other failure (fail closed)──────────────────────────────────────────────▶ WaitForDeadline
 * Expire / Finalize failing after retries ▶ ExpireFailed / FinalizeFailed (Fail), after the handler logged it.
 *
 * Executions log every event to CloudWatch without execution data: inputs and outputs hold task
 * tokens, which stay server-side.
 */
export class ApprovalStateMachine extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly role: iam.Role;
  readonly policy: iam.ManagedPolicy;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: ApprovalStateMachineProps) {
    super(scope, id);
    const policy = lambdaRetryPolicy(props.lambdaRetry);
    const retry = {
      interval: policy.interval,
      maxAttempts: policy.maxAttempts,
      backoffRate: policy.backoffRate,
      maxDelay: policy.maxDelay,
      jitterStrategy: policy.jitter ? sfn.JitterType.FULL : sfn.JitterType.NONE,
    };
    const fn = props.workflowFunction;
    const withRetries = <T extends tasks.LambdaInvoke>(task: T, retryNotDue: boolean): T => {
      task.addRetry({ errors: [...LAMBDA_SERVICE_ERRORS], ...retry });
      task.addRetry({ errors: [...RETRYABLE_HANDLER_ERRORS], ...retry });
      if (retryNotDue) {
        task.addRetry({
          errors: [NOT_DUE_ERROR],
          interval: Duration.seconds(1),
          maxAttempts: 3,
          backoffRate: 2,
        });
      }
      return task;
    };
    const waiting = (
      taskId: string,
      stage: Extract<WorkflowStage, 'notify' | 'escalate'>,
      timeoutPath: string,
    ) =>
      withRetries(
        new tasks.LambdaInvoke(this, taskId, {
          comment: `Runs the ${stage} stage and waits until a decision resumes it or the timeout passes`,
          lambdaFunction: fn,
          integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
          payload: sfn.TaskInput.fromObject({
            stage,
            request_id: sfn.JsonPath.stringAt(EXECUTION_FIELDS.requestId),
            task_token: sfn.JsonPath.taskToken,
          }),
          taskTimeout: sfn.Timeout.at(timeoutPath),
          resultPath: EXECUTION_FIELDS.decision,
          retryOnServiceExceptions: false,
        }),
        stage === 'escalate',
      );

    const finalize = withRetries(
      new tasks.LambdaInvoke(this, 'Finalize', {
        comment: 'The request is decided: update chat cards, call the requester back',
        lambdaFunction: fn,
        payload: sfn.TaskInput.fromObject({
          stage: 'finalize',
          request_id: sfn.JsonPath.stringAt(EXECUTION_FIELDS.requestId),
          decision: sfn.JsonPath.objectAt(EXECUTION_FIELDS.decision),
        }),
        resultPath: sfn.JsonPath.DISCARD,
        retryOnServiceExceptions: false,
      }),
      false,
    );
    finalize.addCatch(
      new sfn.Fail(this, 'FinalizeFailed', {
        error: 'FinalizeFailed',
        cause:
          'The finalize step failed after retries; the workflow function logged why. The request is decided already.',
      }),
      { errors: ['States.ALL'], resultPath: '$.finalize_failure' },
    );

    const expire = withRetries(
      new tasks.LambdaInvoke(this, 'Expire', {
        comment: 'Expires the request unless a decision won the race (then a no-op)',
        lambdaFunction: fn,
        payload: sfn.TaskInput.fromObject({
          stage: 'expire',
          request_id: sfn.JsonPath.stringAt(EXECUTION_FIELDS.requestId),
          failure: sfn.JsonPath.objectAt(EXECUTION_FIELDS.failure),
        }),
        resultSelector: {
          request_id: sfn.JsonPath.stringAt('$.Payload.request_id'),
          status: sfn.JsonPath.stringAt('$.Payload.status'),
        },
        resultPath: EXECUTION_FIELDS.decision,
        retryOnServiceExceptions: false,
      }),
      true,
    );
    expire.addCatch(
      new sfn.Fail(this, 'ExpireFailed', {
        error: 'ExpireFailed',
        cause:
          'The expire step failed after retries; the workflow function logged why, and the sweeper expires the request.',
      }),
      { errors: ['States.ALL'], resultPath: '$.expire_failure' },
    );
    expire.next(finalize);

    const waitForDeadline = new sfn.Wait(this, 'WaitForDeadline', {
      comment: 'An expiry never runs before the deadline, whichever way the execution got here',
      time: sfn.WaitTime.timestampPath(EXECUTION_FIELDS.expiresAt),
    });
    waitForDeadline.next(expire);

    const escalate = waiting('Escalate', 'escalate', EXECUTION_FIELDS.escalationTimeout);
    escalate.addCatch(waitForDeadline, { errors: ['States.Timeout'], resultPath: EXECUTION_FIELDS.failure });
    escalate.addCatch(waitForDeadline, { errors: ['States.ALL'], resultPath: EXECUTION_FIELDS.failure });
    escalate.next(finalize);

    const escalateIfConfigured = new sfn.Choice(this, 'EscalateIfConfigured')
      .when(sfn.Condition.booleanEquals(EXECUTION_FIELDS.escalates, true), escalate)
      .otherwise(waitForDeadline);

    const notify = waiting('Notify', 'notify', EXECUTION_FIELDS.notifyTimeout);
    notify.addCatch(escalateIfConfigured, {
      errors: ['States.Timeout'],
      resultPath: EXECUTION_FIELDS.failure,
    });
    // Fail closed, but not silently: the request waits for its deadline (API votes still count) and
    // expires; meanwhile the sweeper tells the approvers in Notify's place (sweep.ts) and logs it.
    notify.addCatch(waitForDeadline, { errors: ['States.ALL'], resultPath: EXECUTION_FIELDS.failure });
    notify.next(finalize);

    const stack = Stack.of(this);
    // The stack id's unique part (…:stack/<name>/<uuid>) makes the name new for every stack
    // instance: a retained group of a deleted stack never blocks deploying it again.
    const stackUuid = Fn.select(2, Fn.split('/', Aws.STACK_ID));
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      // Vended-log groups under /aws/vendedlogs/ keep CloudWatch's resource policy small.
      logGroupName: `${STATE_MACHINE_LOG_PREFIX}${stack.stackName}-approvals-${stackUuid}`,
      retention: props.logRetention,
      encryptionKey: props.logKey,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('states.amazonaws.com').withConditions({
        StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
      }),
      description: 'Approval state machine: invokes the workflow function, logs and traces',
    });
    this.policy = new iam.ManagedPolicy(this, 'Policy', {
      roles: [this.role],
      description: 'Permissions of the approval state machine',
      statements: [
        new iam.PolicyStatement({
          sid: 'InvokeWorkflowFunction',
          actions: ['lambda:InvokeFunction'],
          resources: [fn.functionArn],
        }),
        new iam.PolicyStatement({
          sid: 'DeliverExecutionLogs',
          // CloudWatch Logs vended-log delivery APIs have no resource-level permissions.
          actions: [
            'logs:CreateLogDelivery',
            'logs:GetLogDelivery',
            'logs:UpdateLogDelivery',
            'logs:DeleteLogDelivery',
            'logs:ListLogDeliveries',
            'logs:PutResourcePolicy',
            'logs:DescribeResourcePolicies',
            'logs:DescribeLogGroups',
          ],
          resources: ['*'],
        }),
        new iam.PolicyStatement({
          sid: 'WriteTraces',
          actions: [
            'xray:PutTraceSegments',
            'xray:PutTelemetryRecords',
            'xray:GetSamplingRules',
            'xray:GetSamplingTargets',
          ],
          resources: ['*'],
        }),
      ],
    });

    Validations.of(this.policy).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Only the CloudWatch Logs vended-delivery actions and X-Ray actions use "*": neither service defines resource types for them (Step Functions logging and tracing documentation). The one invoke permission names the workflow function.',
    });

    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      comment: 'Action-Level Approvals: notify, escalate, expire, finalize one action request',
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromChainable(notify),
      role: this.role.withoutPolicyUpdates(),
      logs: { destination: this.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
      tracingEnabled: true,
    });
    // CreateStateMachine checks the role may deliver logs: the policy must be attached first.
    this.stateMachine.node.addDependency(this.policy);
  }
}
