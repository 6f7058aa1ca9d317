/**
 * The approval state machine under stress, as `cdk synth` renders it, executed by moto with the
 * workflow handler run by the Lambda driver (docs/decisions/0002): throttling longer than the old
 * retry budget, Notify failing for good, and a decision whose SendTaskSuccess was lost.
 *
 * The stack is synthesized with its default retry policy except the waits (1 s, capped at 1 s), so
 * twenty attempts take seconds here instead of the half hour they may take on AWS.
 */
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import { Duration } from 'aws-cdk-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  executionName,
  StepFunctionsWorkflow,
} from '../../../functions/adapters/aws/step-functions-workflow.ts';
import { DynamoDbTaskTokenStore } from '../../../functions/adapters/aws/task-token-store.ts';
import { DynamoDbRequestStore } from '../../../functions/adapters/dynamodb/dynamodb-store.ts';
import { ensureTables, type TableNames } from '../../../functions/adapters/dynamodb/tables.ts';
import { systemClock, ulidIds } from '../../../functions/adapters/system/system.ts';
import type { ApprovalCard } from '../../../functions/core/approval-card.ts';
import type { ActionRequest } from '../../../functions/core/model.ts';
import { ApprovalNotifications } from '../../../functions/core/notifications.ts';
import type { ApprovalNotifier, NotificationTarget } from '../../../functions/core/ports/notifier.port.ts';
import { ApprovalService } from '../../../functions/core/service.ts';
import type { SweepReport } from '../../../functions/handlers/sweep.ts';
import type { StageResult } from '../../../functions/handlers/workflow-stages.ts';
import { type ApprovalTerms, approvalTerms, REQUESTER } from '../../contract/workflow.contract.ts';
import { dynamoClient, sfnClient, uniqueName, waitFor } from '../../harness/index.ts';
import { exportInput, fixedPolicy, owners } from '../../support/fixtures.ts';
import { LambdaDriver } from '../cdk/lambda-driver.ts';
import { createSynthesizedStateMachine, type MotoStateMachine } from '../cdk/moto-state-machine.ts';
import { applyStackEnvironment } from '../cdk/stack-env.ts';

/** The retry budget before this change: 6 retries, then Notify's catch-all. */
const OLD_MAX_ATTEMPTS = 6;

interface Logged {
  readonly level: string;
  readonly message: string;
  readonly attributes?: Record<string, unknown>;
}

/** A chat channel that records what it was asked to post. */
class RecordingNotifier implements ApprovalNotifier {
  readonly channel = 'webhook';
  readonly posts: { requestId: string; stage: string }[] = [];
  async notify(card: ApprovalCard, target: NotificationTarget) {
    this.posts.push({ requestId: card.requestId, stage: target.stage });
    return { recipients: ['approvers.example'], reference: `ref-${this.posts.length}` };
  }
  async update(): Promise<void> {}
}

let sfn: SFNClient;
let machine: MotoStateMachine;
let tables: TableNames;
let store: DynamoDbRequestStore;
let tokens: DynamoDbTaskTokenStore;
let workflow: StepFunctionsWorkflow;
let driver: LambdaDriver;
const dynamo = dynamoClient();

beforeAll(async () => {
  sfn = sfnClient();
  machine = await createSynthesizedStateMachine(sfn, {
    lambdaRetry: { interval: Duration.seconds(1), maxDelay: Duration.seconds(1) },
  });
  tables = { requests: uniqueName('ala-requests'), audit: uniqueName('ala-audit') };
  await ensureTables(dynamo, tables);
  applyStackEnvironment(tables, machine.stateMachineArn);
  const workflowModule = await import('../../../functions/handlers/workflow.ts');
  store = new DynamoDbRequestStore(dynamo, tables);
  tokens = new DynamoDbTaskTokenStore(dynamo, { tableName: tables.requests });
  workflow = new StepFunctionsWorkflow({ client: sfn, stateMachineArn: machine.stateMachineArn, tokens });
  driver = new LambdaDriver({
    sfn,
    stateMachineArn: machine.stateMachineArn,
    functionArn: machine.functionArn,
    handler: (event, context) => workflowModule.handler(event, context),
  });
  driver.start();
});

afterAll(async () => {
  await driver?.stop();
  sfn?.destroy();
  dynamo.destroy();
});

function service(t: ApprovalTerms, errors: unknown[] = []): ApprovalService {
  return new ApprovalService({
    store,
    policy: fixedPolicy(approvalTerms(t)),
    clock: systemClock,
    ids: ulidIds(),
    workflow,
    onWorkflowError: (error) => errors.push(error),
  });
}

function executionArn(requestId: string): string {
  return `${machine.stateMachineArn.replace(':stateMachine:', ':execution:')}:${executionName(requestId)}`;
}

async function history(arn: string): Promise<HistoryEvent[]> {
  const { events } = await sfn.send(new GetExecutionHistoryCommand({ executionArn: arn, maxResults: 1000 }));
  return events ?? [];
}

function statesEntered(events: HistoryEvent[]): string[] {
  return events.flatMap((e) => (e.stateEnteredEventDetails?.name ? [e.stateEnteredEventDetails.name] : []));
}

async function finished(arn: string, timeoutMs = 30_000): Promise<DescribeExecutionCommandOutput> {
  return waitFor(
    async () => {
      const execution = await sfn.send(new DescribeExecutionCommand({ executionArn: arn }));
      return execution.status === 'RUNNING' ? undefined : execution;
    },
    { what: `execution ${arn} to finish`, timeoutMs, intervalMs: 100 },
  );
}

async function tokenStored(requestId: string): Promise<void> {
  await waitFor(async () => ((await tokens.get(requestId)) ? true : undefined), {
    what: `the task token of ${requestId}`,
    timeoutMs: 40_000,
    intervalMs: 50,
  });
}

/** One sweeper run as the Lambda entry makes it, with a recording channel and a recording log. */
async function sweep(
  notifier: RecordingNotifier,
  log: Logged[],
  options: { resume?: StepFunctionsWorkflow['resume'] } = {},
): Promise<SweepReport> {
  const { sweepPendingRequests } = await import('../../../functions/handlers/sweep.ts');
  const logger = {
    debug: (message: string, attributes?: Record<string, unknown>) =>
      log.push({ level: 'debug', message, ...(attributes ? { attributes } : {}) }),
    info: (message: string, attributes?: Record<string, unknown>) =>
      log.push({ level: 'info', message, ...(attributes ? { attributes } : {}) }),
    warn: (message: string, attributes?: Record<string, unknown>) =>
      log.push({ level: 'warn', message, ...(attributes ? { attributes } : {}) }),
    error: (message: string, attributes?: Record<string, unknown>) =>
      log.push({ level: 'error', message, ...(attributes ? { attributes } : {}) }),
  };
  const sweeper = service({ timeoutSeconds: 30 });
  const notifications = new ApprovalNotifications({
    store,
    sink: sweeper,
    notifiers: [notifier],
    directory: () => ({ groups: {}, identities: {} }),
    onError: (error) => {
      throw error;
    },
  });
  // The sweeper runs later than the submission (a minute on AWS): its execution input differs, so
  // Step Functions refuses a second start by name instead of returning the running one.
  const later = new StepFunctionsWorkflow({
    client: sfn,
    stateMachineArn: machine.stateMachineArn,
    tokens,
    now: () => new Date(Date.now() + 5_000),
  });
  const sweepWorkflow = {
    start: (request: ActionRequest) => later.start(request),
    startIfMissing: (request: ActionRequest) => later.startIfMissing(request),
    decided: (request: ActionRequest) => workflow.decided(request),
    resume: options.resume ?? ((request: ActionRequest, token: string) => workflow.resume(request, token)),
  };
  return sweepPendingRequests(
    { service: sweeper, store, tokens, workflow: sweepWorkflow, notifications, clock: systemClock, logger },
    { startGraceMs: 0, resumeGraceMs: 0 },
  );
}

const warnings = (log: Logged[]) => log.filter((l) => l.level === 'warn' || l.level === 'error');

describe('Throttling, lost callbacks and the sweeper on the synthesized state machine', () => {
  it('retries every Lambda task with full jitter, a maximum delay and more attempts than before', () => {
    const retries = machine.synthesized.States.Notify?.Retry ?? [];
    const throttling = retries.find((r) => r.ErrorEquals.includes('Lambda.TooManyRequestsException'));
    expect(throttling).toMatchObject({ JitterStrategy: 'FULL', MaxDelaySeconds: 1, BackoffRate: 2 });
    expect(throttling?.MaxAttempts).toBeGreaterThan(OLD_MAX_ATTEMPTS + 1);
  });

  it('notifies and stays decidable when the workflow function is throttled longer than the old retry budget', async () => {
    const throttled = OLD_MAX_ATTEMPTS + 2;
    driver.inject('notify', 'Lambda.TooManyRequestsException', throttled);
    const errors: unknown[] = [];
    const approvals = service({ timeoutSeconds: 60, minApprovals: 1 }, errors);
    const { request } = await approvals.submit(REQUESTER, exportInput);

    // Notify ran once the throttling passed: it stored its token and told the channels. The token is
    // stored before the handler returns, so wait for the driver to record the handler's answer too.
    await tokenStored(request.id);
    const notify = await waitFor(
      async () => driver.invocationsOf(request.id).find((r) => r.stage === 'notify' && 'result' in r.outcome),
      { what: 'the notify handler to answer', timeoutMs: 40_000, intervalMs: 50 },
    );
    const runs = driver.invocationsOf(request.id);
    expect(runs.filter((r) => 'error' in r.outcome)).toHaveLength(throttled);
    expect((notify?.outcome as { result: StageResult } | undefined)?.result).toMatchObject({
      stage: 'notify',
      status: 'pending',
      resumed: false,
    });

    const { request: approved } = await approvals.review(request.id, owners[0] ?? '', {
      decision: 'approve',
      actionHash: request.actionHash,
      channel: 'api',
    });
    expect(approved.status).toBe('approved');
    const done = await finished(executionArn(request.id));
    expect(done.status).toBe('SUCCEEDED');
    expect(statesEntered(await history(executionArn(request.id)))).toEqual(['Notify', 'Finalize']);
    expect(errors).toEqual([]);
  });

  it('tells the approvers from the sweeper when Notify fails for good, once, and the request stays decidable', async () => {
    driver.inject('notify', 'Error');
    const approvals = service({ timeoutSeconds: 60, minApprovals: 1 });
    const { request } = await approvals.submit(REQUESTER, exportInput);
    const arn = executionArn(request.id);
    // Notify's catch-all: the execution waits for the deadline without a token.
    await waitFor(
      async () => (statesEntered(await history(arn)).includes('WaitForDeadline') ? true : undefined),
      { what: 'the execution to wait for the deadline', timeoutMs: 20_000, intervalMs: 100 },
    );
    expect(await tokens.get(request.id)).toBeUndefined();

    const notifier = new RecordingNotifier();
    const log: Logged[] = [];
    const first = await sweep(notifier, log);
    expect(first).toMatchObject({ renotified: 1, started: 0, failed: 0 });
    expect(notifier.posts).toEqual([{ requestId: request.id, stage: 'notify' }]);
    const told = warnings(log);
    expect(told).toHaveLength(1);
    expect(told[0]?.attributes).toMatchObject({ requestId: request.id, failClosed: true, repaired: true });

    // The next run finds the card posted: nothing is posted or logged again.
    const again: Logged[] = [];
    const second = await sweep(notifier, again);
    expect(second).toMatchObject({ renotified: 0, started: 0, failed: 0 });
    expect(notifier.posts).toHaveLength(1);
    expect(warnings(again)).toEqual([]);

    const { request: approved } = await approvals.review(request.id, owners[1] ?? '', {
      decision: 'approve',
      actionHash: request.actionHash,
      channel: 'api',
    });
    expect(approved.status).toBe('approved');
    const sent = (await store.listEvents(request.id)).filter((e) => e.type === 'notification.sent');
    expect(sent).toHaveLength(1);
  });

  it('resumes on its next run an execution whose decision never reached it, and the run after is a no-op', async () => {
    // The vote commits but its SendTaskSuccess is lost (a throttled or failed call after the commit).
    const lost: unknown[] = [];
    const offline = new ApprovalService({
      store,
      policy: fixedPolicy(approvalTerms({ timeoutSeconds: 60, minApprovals: 1 })),
      clock: systemClock,
      ids: ulidIds(),
      workflow: {
        start: (request) => workflow.start(request),
        decided: async () => {
          throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
        },
      },
      onWorkflowError: (error) => lost.push(error),
    });
    const { request } = await offline.submit(REQUESTER, exportInput);
    await tokenStored(request.id);
    await offline.review(request.id, owners[2] ?? '', {
      decision: 'reject',
      comment: 'not now',
      actionHash: request.actionHash,
      channel: 'api',
    });
    expect(lost).toHaveLength(1);
    const arn = executionArn(request.id);
    expect((await sfn.send(new DescribeExecutionCommand({ executionArn: arn }))).status).toBe('RUNNING');
    expect(statesEntered(await history(arn))).toEqual(['Notify']);

    const calls: string[] = [];
    const resume = async (r: ActionRequest, token: string) => {
      calls.push(r.id);
      return workflow.resume(r, token);
    };
    const log: Logged[] = [];
    const first = await sweep(new RecordingNotifier(), log, { resume });
    expect(first).toMatchObject({ resumed: 1, failed: 0 });
    expect(calls).toEqual([request.id]);
    const done = await finished(arn);
    expect(done.status).toBe('SUCCEEDED');
    expect(JSON.parse(done.output ?? '{}').decision).toEqual({ request_id: request.id, status: 'rejected' });
    expect(statesEntered(await history(arn))).toEqual(['Notify', 'Finalize']);
    const repairs = warnings(log);
    expect(repairs, JSON.stringify(repairs)).toHaveLength(1);
    expect(repairs[0]?.attributes).toMatchObject({
      requestId: request.id,
      status: 'rejected',
      repaired: true,
    });

    const again: Logged[] = [];
    const second = await sweep(new RecordingNotifier(), again, { resume });
    expect(second).toMatchObject({ resumed: 0, failed: 0 });
    expect(calls).toEqual([request.id]);
    expect(warnings(again)).toEqual([]);
    expect((await tokens.get(request.id))?.settledAt).toEqual(expect.any(String));
  });
});
