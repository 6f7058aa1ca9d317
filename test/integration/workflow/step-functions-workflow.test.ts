/**
 * The Step Functions workflow adapter against the state machine `cdk synth` produces, executed by
 * moto, with the workflow Lambda's handler run in-process by the Lambda driver
 * (test/integration/cdk/lambda-driver.ts, docs/decisions/0002) and a DynamoDB store on DynamoDB Local.
 */
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  SendTaskSuccessCommand,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  executionName,
  StepFunctionsWorkflow,
} from '../../../functions/adapters/aws/step-functions-workflow.ts';
import { DynamoDbTaskTokenStore, taskTokenItemId } from '../../../functions/adapters/aws/task-token-store.ts';
import { DynamoDbRequestStore } from '../../../functions/adapters/dynamodb/dynamodb-store.ts';
import { ensureTables, type TableNames } from '../../../functions/adapters/dynamodb/tables.ts';
import { systemClock, ulidIds } from '../../../functions/adapters/system/system.ts';
import type { ActionRequest } from '../../../functions/core/model.ts';
import { ApprovalService } from '../../../functions/core/service.ts';
import type { StageResult } from '../../../functions/handlers/workflow-stages.ts';
import {
  type ApprovalTerms,
  approvalTerms,
  describeWorkflowContract,
  REQUESTER,
} from '../../contract/workflow.contract.ts';
import { documentClient, dynamoClient, sfnClient, uniqueName, waitFor } from '../../harness/index.ts';
import { exportInput, fixedPolicy, owners } from '../../support/fixtures.ts';
import { LambdaDriver } from '../cdk/lambda-driver.ts';
import { createSynthesizedStateMachine, type MotoStateMachine } from '../cdk/moto-state-machine.ts';
import { applyStackEnvironment } from '../cdk/stack-env.ts';

interface Fixture {
  readonly sfn: SFNClient;
  readonly machine: MotoStateMachine;
  readonly tables: TableNames;
  readonly store: DynamoDbRequestStore;
  readonly tokens: DynamoDbTaskTokenStore;
  readonly workflow: StepFunctionsWorkflow;
  readonly driver: LambdaDriver;
  readonly workflowErrors: unknown[];
  readonly sweeperHandler: (
    event: unknown,
    context: Pick<Context, 'getRemainingTimeInMillis'>,
  ) => Promise<unknown>;
  service(t: ApprovalTerms): ApprovalService;
  close(): Promise<void>;
}

let fixture: Promise<Fixture> | undefined;

/** One state machine, one pair of tables and one driver for the whole file (the handler module is bound to them). */
function setUp(): Promise<Fixture> {
  fixture ??= (async () => {
    const sfn = sfnClient();
    const dynamo = dynamoClient();
    const machine = await createSynthesizedStateMachine(sfn);
    const tables = { requests: uniqueName('ala-requests'), audit: uniqueName('ala-audit') };
    await ensureTables(dynamo, tables);
    // What the stack sets on the functions, pointed at the emulators.
    applyStackEnvironment(tables, machine.stateMachineArn);
    // The handlers exactly as Lambda loads them: configuration and clients built at import.
    const workflowModule = await import('../../../functions/handlers/workflow.ts');
    const sweeperModule = await import('../../../functions/handlers/sweeper.ts');

    const store = new DynamoDbRequestStore(dynamo, tables);
    const tokens = new DynamoDbTaskTokenStore(dynamo, { tableName: tables.requests });
    const workflow = new StepFunctionsWorkflow({
      client: sfn,
      stateMachineArn: machine.stateMachineArn,
      tokens,
    });
    const driver = new LambdaDriver({
      sfn,
      stateMachineArn: machine.stateMachineArn,
      functionArn: machine.functionArn,
      handler: (event, context) => workflowModule.handler(event, context),
    });
    driver.start();
    const workflowErrors: unknown[] = [];
    const ids = ulidIds();
    return {
      sfn,
      machine,
      tables,
      store,
      tokens,
      workflow,
      driver,
      workflowErrors,
      sweeperHandler: (event, context) => sweeperModule.handler(event, context),
      service: (t) =>
        new ApprovalService({
          store,
          policy: fixedPolicy(approvalTerms(t)),
          clock: systemClock,
          ids,
          workflow,
          onWorkflowError: (error) => workflowErrors.push(error),
        }),
      close: async () => {
        await driver.stop();
        sfn.destroy();
        dynamo.destroy();
      },
    };
  })();
  return fixture;
}

afterAll(async () => {
  const f = await fixture;
  await f?.close();
});

describeWorkflowContract(
  'Step Functions: the synthesized state machine on moto, over DynamoDB Local',
  async () => {
    const f = await setUp();
    // The file-level afterAll closes the shared fixture.
    return {
      workflow: f.workflow,
      isWaiting: async (id) => {
        const arn = executionArn(f.machine, id);
        const execution = await f.sfn.send(new DescribeExecutionCommand({ executionArn: arn }));
        return execution.status === 'RUNNING';
      },
      service: (t) => f.service(t),
      close: async () => {},
    };
  },
);

function executionArn(machine: MotoStateMachine, requestId: string): string {
  return `${machine.stateMachineArn.replace(':stateMachine:', ':execution:')}:${executionName(requestId)}`;
}

async function history(sfn: SFNClient, arn: string): Promise<HistoryEvent[]> {
  const { events } = await sfn.send(new GetExecutionHistoryCommand({ executionArn: arn, maxResults: 1000 }));
  return events ?? [];
}

async function finished(
  sfn: SFNClient,
  arn: string,
  timeoutMs = 20_000,
): Promise<DescribeExecutionCommandOutput> {
  return waitFor(
    async () => {
      const execution = await sfn.send(new DescribeExecutionCommand({ executionArn: arn }));
      return execution.status === 'RUNNING' ? undefined : execution;
    },
    { what: `execution ${arn} to finish`, timeoutMs, intervalMs: 50 },
  );
}

function statesEntered(events: HistoryEvent[]): string[] {
  return events.flatMap((e) => (e.stateEnteredEventDetails?.name ? [e.stateEnteredEventDetails.name] : []));
}

function stagesRun(f: Fixture, requestId: string): string[] {
  return f.driver.invocationsOf(requestId).map((i) => i.stage);
}

async function tokenStored(f: Fixture, requestId: string, stage = 'notify'): Promise<void> {
  await waitFor(async () => ((await f.tokens.get(requestId))?.stage === stage ? true : undefined), {
    what: `the ${stage} task token of ${requestId}`,
    timeoutMs: 10_000,
    intervalMs: 25,
  });
}

describe('Class: StepFunctionsWorkflow', () => {
  let f: Fixture;

  beforeAll(async () => {
    f = await setUp();
  });

  it('runs the definition cdk synth produced, lambda tasks only changed to wait for the driver', () => {
    const states = f.machine.synthesized.States;
    expect(Object.keys(states).sort()).toEqual([
      'Escalate',
      'EscalateIfConfigured',
      'Expire',
      'ExpireFailed',
      'Finalize',
      'FinalizeFailed',
      'Notify',
      'WaitForDeadline',
    ]);
    expect(states.Notify?.Parameters?.FunctionName).toBe(f.machine.functionArn);
  });

  it('approves: the vote resumes Notify with SendTaskSuccess, Finalize sees the outcome, the execution succeeds', async () => {
    const service = f.service({ timeoutSeconds: 30, minApprovals: 1 });
    const { request } = await service.submit(REQUESTER, exportInput);
    await tokenStored(f, request.id);
    await service.review(request.id, owners[0] ?? '', {
      decision: 'approve',
      actionHash: request.actionHash,
      channel: 'api',
    });
    const arn = executionArn(f.machine, request.id);
    const done = await finished(f.sfn, arn);
    expect(done.status).toBe('SUCCEEDED');
    expect(JSON.parse(done.output ?? '{}')).toMatchObject({
      request_id: request.id,
      decision: { request_id: request.id, status: 'approved' },
    });
    const events = await history(f.sfn, arn);
    expect(statesEntered(events)).toEqual(['Notify', 'Finalize']);
    expect(stagesRun(f, request.id)).toEqual(['notify', 'finalize']);
    const finalize = f.driver.invocationsOf(request.id).find((i) => i.stage === 'finalize');
    expect(finalize?.outcome).toEqual({
      result: { request_id: request.id, stage: 'finalize', status: 'approved' },
    });
  });

  it('rejects: a veto ends the wait the same way and the execution records the rejection', async () => {
    const service = f.service({ timeoutSeconds: 30, minApprovals: 2 });
    const { request } = await service.submit(REQUESTER, exportInput);
    await tokenStored(f, request.id);
    await service.review(request.id, owners[1] ?? '', {
      decision: 'reject',
      comment: 'not this quarter',
      actionHash: request.actionHash,
      channel: 'api',
    });
    const done = await finished(f.sfn, executionArn(f.machine, request.id));
    expect(done.status).toBe('SUCCEEDED');
    expect(JSON.parse(done.output ?? '{}').decision).toEqual({ request_id: request.id, status: 'rejected' });
    expect(stagesRun(f, request.id)).toEqual(['notify', 'finalize']);
  });

  it('times out into Escalate, then waits for the deadline and expires: notify → escalate → expire → finalize', async () => {
    const service = f.service({ timeoutSeconds: 3, escalateAfterSeconds: 1 });
    const { request } = await service.submit(REQUESTER, exportInput);
    const arn = executionArn(f.machine, request.id);
    const done = await finished(f.sfn, arn);
    expect(done.status).toBe('SUCCEEDED');
    const events = await history(f.sfn, arn);
    expect(statesEntered(events)).toEqual([
      'Notify',
      'EscalateIfConfigured',
      'Escalate',
      'WaitForDeadline',
      'Expire',
      'Finalize',
    ]);
    expect(events.filter((e) => e.type === 'TaskTimedOut')).toHaveLength(2);
    expect(stagesRun(f, request.id)).toEqual(['notify', 'escalate', 'expire', 'finalize']);
    const expired = f.driver.invocationsOf(request.id).find((i) => i.stage === 'expire');
    // The Wait holds Expire until the deadline (moto truncates to whole seconds; the core allows 2 s).
    expect(expired?.at ?? 0).toBeGreaterThanOrEqual(Date.parse(request.approval?.expiresAt ?? '') - 2_000);
    const { events: audit, verification } = await service.audit(request.id, REQUESTER);
    expect(verification.ok).toBe(true);
    expect(audit.map((e) => e.type)).toEqual([
      'request.submitted',
      'policy.evaluated',
      'approval.requested',
      'request.escalated',
      'request.expired',
    ]);
    expect(JSON.parse(done.output ?? '{}').decision).toEqual({ request_id: request.id, status: 'expired' });
  });

  it('changes nothing on a duplicate SendTaskSuccess: refused, no second terminal event, same output', async () => {
    const service = f.service({ timeoutSeconds: 30, minApprovals: 1 });
    const { request } = await service.submit(REQUESTER, exportInput);
    await tokenStored(f, request.id);
    const stored = await f.tokens.get(request.id);
    const { request: approved } = await service.review(request.id, owners[2] ?? '', {
      decision: 'approve',
      actionHash: request.actionHash,
      channel: 'api',
    });
    const arn = executionArn(f.machine, request.id);
    const done = await finished(f.sfn, arn);
    const before = await history(f.sfn, arn);

    // The adapter tolerates it (the timer or the first callback won)…
    await expect(f.workflow.decided(approved)).resolves.toBeUndefined();
    // …and Step Functions refuses the raw duplicate.
    await expect(
      f.sfn.send(
        new SendTaskSuccessCommand({ taskToken: stored?.taskToken, output: '{"status":"rejected"}' }),
      ),
    ).rejects.toMatchObject({
      name: expect.stringMatching(/^(TaskTimedOut|TaskDoesNotExist|InvalidToken)$/),
    });

    const after = await f.sfn.send(new DescribeExecutionCommand({ executionArn: arn }));
    expect(after.status).toBe('SUCCEEDED');
    expect(after.output).toBe(done.output);
    const events = await history(f.sfn, arn);
    expect(events).toHaveLength(before.length);
    expect(events.filter((e) => e.type === 'ExecutionSucceeded')).toHaveLength(1);
  });

  it('closes the race where the deciding vote lands before the token is stored: Notify resumes itself', async () => {
    // The request id is fixed up front so the driver can hold its notify step from the start.
    const id = ulidIds().requestId();
    const service = new ApprovalService({
      store: f.store,
      policy: fixedPolicy(approvalTerms({ timeoutSeconds: 30, minApprovals: 1 })),
      clock: systemClock,
      ids: { requestId: () => id },
      workflow: f.workflow,
      onWorkflowError: (error) => f.workflowErrors.push(error),
    });
    let release: () => void = () => {};
    f.driver.hold(
      'notify',
      id,
      new Promise<void>((resolve) => {
        release = resolve;
      }),
    );
    const { request } = await service.submit(REQUESTER, exportInput);
    await waitFor(
      async () =>
        (await f.sfn.send(new DescribeExecutionCommand({ executionArn: executionArn(f.machine, id) })))
          .status === 'RUNNING'
          ? true
          : undefined,
      { what: 'the execution', timeoutMs: 5_000 },
    );
    const { request: approved } = await service.review(request.id, owners[3] ?? '', {
      decision: 'approve',
      actionHash: request.actionHash,
      channel: 'api',
    });
    expect(approved.status).toBe('approved');
    expect(await f.tokens.get(request.id)).toBeUndefined();
    release();
    const done = await finished(f.sfn, executionArn(f.machine, request.id));
    expect(done.status).toBe('SUCCEEDED');
    const notify = f.driver.invocationsOf(request.id).find((i) => i.stage === 'notify');
    expect(notify?.outcome).toMatchObject({ result: expect.anything() });
    expect((notify?.outcome as { result: StageResult } | undefined)?.result).toMatchObject({
      resumed: true,
      status: 'approved',
    });
    expect(stagesRun(f, request.id)).toEqual(['notify', 'finalize']);
  });

  it('fails closed when Notify fails: waits for the deadline, expires, and records why', async () => {
    f.driver.inject('notify', 'Error');
    const service = f.service({ timeoutSeconds: 2 });
    const { request } = await service.submit(REQUESTER, exportInput);
    const arn = executionArn(f.machine, request.id);
    const done = await finished(f.sfn, arn);
    expect(done.status).toBe('SUCCEEDED');
    expect(statesEntered(await history(f.sfn, arn))).toEqual([
      'Notify',
      'WaitForDeadline',
      'Expire',
      'Finalize',
    ]);
    expect(JSON.parse(done.output ?? '{}')).toMatchObject({
      failure: { Error: 'Error' },
      decision: { status: 'expired' },
    });
    expect((await f.store.get(request.id))?.status).toBe('expired');
    const expired = (await f.store.listEvents(request.id)).find((e) => e.type === 'request.expired');
    expect(expired?.data.why).toMatch(/^approval workflow failed \(Error\)/);
  });

  it('retries a Lambda service error with jittered backoff (≤ 2 s, ≤ 4 s, … capped) instead of failing the step', async () => {
    f.driver.inject('expire', 'Lambda.ServiceException');
    const service = f.service({ timeoutSeconds: 1 });
    const { request } = await service.submit(REQUESTER, exportInput);
    const arn = executionArn(f.machine, request.id);
    const done = await finished(f.sfn, arn);
    expect(done.status).toBe('SUCCEEDED');
    expect((await f.store.get(request.id))?.status).toBe('expired');

    const events = await history(f.sfn, arn);
    const entered = events.findIndex((e) => e.stateEnteredEventDetails?.name === 'Expire');
    const exited = events.findIndex((e) => e.stateExitedEventDetails?.name === 'Expire');
    const attempts = events.slice(entered, exited).filter((e) => e.type === 'TaskScheduled');
    const failures = events.slice(entered, exited).filter((e) => e.type === 'TaskFailed');
    expect(failures[0]?.taskFailedEventDetails?.error).toBe('Lambda.ServiceException');
    // Full jitter: each wait is uniform in 0…IntervalSeconds × BackoffRate^n (capped), so only
    // the ceiling is certain. moto hands a retried callback task the token of the attempt before
    // it, so it replays that attempt's answer and needs one attempt more than AWS would
    // (docs/decisions/0002).
    expect(attempts.length).toBeGreaterThanOrEqual(2);
    const at = attempts.map((e) => e.timestamp?.getTime() ?? 0);
    at.slice(1).forEach((time, i) => {
      expect(time - (at[i] ?? 0), `wait before attempt ${i + 2}`).toBeLessThanOrEqual(
        Math.min(120_000, 2_000 * 2 ** i) + 1_500,
      );
    });
    const runs = f.driver.invocationsOf(request.id).filter((i) => i.stage === 'expire');
    expect(runs[0]?.outcome).toEqual({ error: 'Lambda.ServiceException' });
    expect(runs.slice(1).every((i) => 'result' in i.outcome)).toBe(true);
  });

  it('ends in the ExpireFailed state when Expire keeps failing, and the sweeper expires the request', async () => {
    f.driver.inject('expire', 'Error');
    const service = f.service({ timeoutSeconds: 1 });
    const { request } = await service.submit(REQUESTER, exportInput);
    const done = await finished(f.sfn, executionArn(f.machine, request.id));
    expect(done.status).toBe('FAILED');
    expect(done.error).toBe('ExpireFailed');
    expect((await f.store.get(request.id))?.status).toBe('pending');

    // The sweeper's next run, over 30 s (its grace) past the deadline: the backstop catches up.
    const { sweepPendingRequests } = await import('../../../functions/handlers/sweep.ts');
    const report = await sweepPendingRequests(
      {
        service: f.service({ timeoutSeconds: 1 }),
        store: f.store,
        tokens: f.tokens,
        workflow: f.workflow,
        clock: { now: () => new Date(Date.now() + 31_000) },
        logger: { debug() {}, info() {}, warn() {}, error() {} },
      },
      {},
    );
    expect(report).toMatchObject({ failed: 0, complete: true });
    expect(report.expired).toBeGreaterThanOrEqual(1);
    const swept = await f.store.get(request.id);
    expect(swept?.status).toBe('expired');
    const { events, verification } = await service.audit(request.id, REQUESTER);
    expect(verification.ok).toBe(true);
    expect(events.filter((e) => e.type === 'request.expired')).toHaveLength(1);
  });

  it('sweeper: starts the execution of a pending request that has none, once', async () => {
    // A request committed while Step Functions was unreachable: no execution, no token.
    const offline = new ApprovalService({
      store: f.store,
      policy: fixedPolicy(approvalTerms({ timeoutSeconds: 30, minApprovals: 1 })),
      clock: systemClock,
      ids: ulidIds(),
    });
    const { request } = await offline.submit(REQUESTER, exportInput);
    const sweep = async () => {
      const { sweepPendingRequests } = await import('../../../functions/handlers/sweep.ts');
      return sweepPendingRequests(
        {
          service: f.service({ timeoutSeconds: 30 }),
          store: f.store,
          tokens: f.tokens,
          workflow: f.workflow,
          clock: systemClock,
          logger: { debug() {}, info() {}, warn() {}, error() {} },
        },
        { startGraceMs: 0 },
      );
    };
    expect((await sweep()).started).toBeGreaterThanOrEqual(1);
    await tokenStored(f, request.id);
    const started = await f.sfn.send(
      new DescribeExecutionCommand({ executionArn: executionArn(f.machine, request.id) }),
    );
    expect(started.status).toBe('RUNNING');
    // The token now shows a waiting execution: the next sweep leaves it alone.
    const second = await sweep();
    expect(second).toMatchObject({ started: 0, failed: 0 });
    expect(stagesRun(f, request.id)).toEqual(['notify']);
    await offline.review(request.id, owners[4] ?? '', {
      decision: 'approve',
      actionHash: request.actionHash,
      channel: 'api',
    });
    // `offline` has no workflow: resume the execution as the api function would.
    const approved = (await f.store.get(request.id)) as ActionRequest;
    await f.workflow.decided(approved);
    expect((await finished(f.sfn, executionArn(f.machine, request.id))).status).toBe('SUCCEEDED');
  });

  it('sweeper handler: initializes from its environment and reports a complete sweep', async () => {
    const report = await f.sweeperHandler(
      { source: 'aws.events' },
      { getRemainingTimeInMillis: () => 60_000 },
    );
    expect(report).toMatchObject({ complete: true, failed: 0 });
  });

  it('keeps task tokens server-side: in the requests table, out of the index, never in an API view', async () => {
    const service = f.service({ timeoutSeconds: 30, minApprovals: 1 });
    const { request } = await service.submit(REQUESTER, exportInput);
    await tokenStored(f, request.id);
    const doc = documentClient();
    const { GetCommand } = await import('@aws-sdk/lib-dynamodb');
    const item = (
      await doc.send(
        new GetCommand({ TableName: f.tables.requests, Key: { id: taskTokenItemId(request.id) } }),
      )
    ).Item;
    expect(item).toMatchObject({
      requestId: request.id,
      stage: 'notify',
      taskToken: expect.any(String),
      ttl: expect.any(Number),
    });
    expect(item?.status).toBeUndefined();
    const pending = await f.store.listByStatus('pending', { limit: 1000 });
    expect(pending.items.every((r) => typeof r.id === 'string' && r.id.startsWith('ar_'))).toBe(true);
    const visible = JSON.stringify(await service.get(request.id, REQUESTER));
    expect(visible).not.toContain(String(item?.taskToken));
    await service.cancel(request.id, REQUESTER, 'test cleanup');
    expect((await finished(f.sfn, executionArn(f.machine, request.id))).status).toBe('SUCCEEDED');
    doc.destroy();
  });
});

// Last in the file (tests run in order): every start and resume above reached Step Functions.
describe('The Step Functions fixture, after every test above', () => {
  it('recorded no workflow error: no start or resume call failed', async () => {
    const f = await setUp();
    expect(f.workflowErrors).toEqual([]);
  });
});
