// Smoke: moto executes a standard state machine with a `.waitForTaskToken` task — the approval
// pattern: the token goes out ($$.Task.Token), SendTaskSuccess resumes the execution exactly once,
// and a task that is never answered times out into a Catch on States.Timeout.
import {
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  SendTaskSuccessCommand,
  type SFNClient,
  SFNServiceException,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MOTO_ACCOUNT_ID,
  motoEndpoint,
  sfnClient,
  TEST_REGION,
  uniqueName,
  waitFor,
} from '../../harness/index.ts';

const ROLE_ARN = `arn:aws:iam::${MOTO_ACCOUNT_ID}:role/smoke-approvals-sfn`;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A minimal SQS client over moto's JSON protocol (no @aws-sdk/client-sqs in this project). */
async function sqs(action: string, input: Record<string, unknown>): Promise<Record<string, unknown>> {
  const response = await fetch(`${motoEndpoint()}/`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-amz-json-1.0',
      'x-amz-target': `AmazonSQS.${action}`,
      // Only the credential scope matters to moto: it routes on the service and region.
      authorization: `AWS4-HMAC-SHA256 Credential=test/20250101/${TEST_REGION}/sqs/aws4_request, SignedHeaders=host, Signature=0`,
    },
    body: JSON.stringify(input),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`SQS ${action} answered ${response.status}: ${text}`);
  const parsed: unknown = text === '' ? {} : JSON.parse(text);
  if (!isRecord(parsed)) throw new Error(`SQS ${action}: unexpected answer ${text}`);
  return parsed;
}

async function createQueue(name: string): Promise<string> {
  const { QueueUrl } = await sqs('CreateQueue', { QueueName: name });
  if (typeof QueueUrl !== 'string') throw new Error('CreateQueue returned no QueueUrl');
  return QueueUrl;
}

async function receiveBodies(queueUrl: string): Promise<string[]> {
  const { Messages } = await sqs('ReceiveMessage', {
    QueueUrl: queueUrl,
    MaxNumberOfMessages: 10,
    WaitTimeSeconds: 1,
  });
  if (Messages === undefined) return [];
  if (!Array.isArray(Messages)) throw new Error('ReceiveMessage: Messages is not a list');
  return Messages.map((m: unknown) => (isRecord(m) && typeof m.Body === 'string' ? m.Body : ''));
}

function parseObject(json: string | undefined): Record<string, unknown> {
  const value: unknown = JSON.parse(json ?? 'null');
  if (!isRecord(value)) throw new Error(`expected a JSON object, got ${String(json)}`);
  return value;
}

function stringField(value: Record<string, unknown>, key: string): string {
  const field = value[key];
  if (typeof field !== 'string') throw new Error(`expected a string at ${key} in ${JSON.stringify(value)}`);
  return field;
}

async function history(sfn: SFNClient, executionArn: string): Promise<HistoryEvent[]> {
  const { events } = await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 }));
  return events ?? [];
}

/** The task token as the state machine resolved it, from the TaskScheduled event's parameters. */
function scheduledToken(events: HistoryEvent[]): string | undefined {
  const scheduled = events.find((e) => e.type === 'TaskScheduled');
  const parameters = scheduled?.taskScheduledEventDetails?.parameters;
  if (parameters === undefined) return undefined;
  const body = parseObject(parameters).MessageBody;
  return isRecord(body) && typeof body.taskToken === 'string' ? body.taskToken : undefined;
}

async function finished(sfn: SFNClient, executionArn: string): Promise<DescribeExecutionCommandOutput> {
  return waitFor(
    async () => {
      const execution = await sfn.send(new DescribeExecutionCommand({ executionArn }));
      return execution.status === 'RUNNING' ? undefined : execution;
    },
    { what: `execution ${executionArn} to finish`, timeoutMs: 20_000, intervalMs: 100 },
  );
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  );
}

function notifyTask(queueUrl: string, timeoutSeconds: number): Record<string, unknown> {
  return {
    Type: 'Task',
    Resource: 'arn:aws:states:::sqs:sendMessage.waitForTaskToken',
    Parameters: {
      QueueUrl: queueUrl,
      MessageBody: { 'taskToken.$': '$$.Task.Token', 'requestId.$': '$.requestId' },
    },
    TimeoutSeconds: timeoutSeconds,
    ResultPath: '$.decision',
  };
}

describe('moto Step Functions: .waitForTaskToken callbacks', () => {
  let sfn: SFNClient;

  beforeAll(() => {
    sfn = sfnClient();
  });

  afterAll(() => sfn?.destroy());

  it('hands out $$.Task.Token, resumes once on SendTaskSuccess, and rejects a second answer', async () => {
    const queueUrl = await createQueue(uniqueName('smoke-notify'));
    const { stateMachineArn } = await sfn.send(
      new CreateStateMachineCommand({
        name: uniqueName('smoke-callback'),
        roleArn: ROLE_ARN,
        type: 'STANDARD',
        definition: JSON.stringify({
          StartAt: 'Notify',
          States: {
            Notify: { ...notifyTask(queueUrl, 60), Next: 'Finalize' },
            Finalize: {
              Type: 'Pass',
              Parameters: {
                'requestId.$': '$.requestId',
                'outcome.$': '$.decision.outcome',
                'approver.$': '$.decision.approver',
              },
              End: true,
            },
          },
        }),
      }),
    );
    const requestId = uniqueName('req');
    const { executionArn } = await sfn.send(
      new StartExecutionCommand({ stateMachineArn, name: requestId, input: JSON.stringify({ requestId }) }),
    );
    if (executionArn === undefined) throw new Error('StartExecution returned no executionArn');

    // The token arrives in the SQS message the task sent…
    const [message] = await waitFor(
      async () => {
        const bodies = await receiveBodies(queueUrl);
        return bodies.length > 0 ? bodies : undefined;
      },
      { what: 'the notification message', timeoutMs: 15_000 },
    );
    const sent = parseObject(message);
    expect(sent.requestId).toBe(requestId);
    const token = stringField(sent, 'taskToken');
    expect(token.length).toBeGreaterThan(10);
    // …and is visible in the execution history (the channel a lambda:invoke task would use).
    expect(scheduledToken(await history(sfn, executionArn))).toBe(token);
    expect((await sfn.send(new DescribeExecutionCommand({ executionArn }))).status).toBe('RUNNING');

    await sfn.send(
      new SendTaskSuccessCommand({
        taskToken: token,
        output: JSON.stringify({ outcome: 'approved', approver: 'user:bob@example.gov' }),
      }),
    );
    const done = await finished(sfn, executionArn);
    expect(done.status).toBe('SUCCEEDED');
    expect(parseObject(done.output)).toEqual({
      requestId,
      outcome: 'approved',
      approver: 'user:bob@example.gov',
    });
    const eventsAfter = await history(sfn, executionArn);
    expect(eventsAfter.filter((e) => e.type === 'TaskSucceeded')).toHaveLength(1);

    // A duplicate callback (retry, double click) is refused and changes nothing.
    const duplicate = await rejection(
      sfn.send(
        new SendTaskSuccessCommand({ taskToken: token, output: JSON.stringify({ outcome: 'denied' }) }),
      ),
    );
    expect(duplicate).toBeInstanceOf(SFNServiceException);
    if (duplicate instanceof SFNServiceException) {
      expect(['InvalidToken', 'TaskTimedOut', 'TaskDoesNotExist']).toContain(duplicate.name);
    }
    const again = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    expect(again.status).toBe('SUCCEEDED');
    expect(again.output).toBe(done.output);
    expect(await history(sfn, executionArn)).toHaveLength(eventsAfter.length);
  });

  it('times out an unanswered task (TimeoutSeconds: 1) into the States.Timeout catcher', async () => {
    const queueUrl = await createQueue(uniqueName('smoke-notify'));
    const { stateMachineArn } = await sfn.send(
      new CreateStateMachineCommand({
        name: uniqueName('smoke-timeout'),
        roleArn: ROLE_ARN,
        definition: JSON.stringify({
          StartAt: 'Notify',
          States: {
            Notify: {
              ...notifyTask(queueUrl, 1),
              Catch: [{ ErrorEquals: ['States.Timeout'], ResultPath: '$.error', Next: 'Expire' }],
              Next: 'Finalize',
            },
            Expire: {
              Type: 'Pass',
              Parameters: { 'requestId.$': '$.requestId', outcome: 'expired', 'error.$': '$.error.Error' },
              End: true,
            },
            Finalize: { Type: 'Pass', Result: { outcome: 'answered' }, End: true },
          },
        }),
      }),
    );
    const requestId = uniqueName('req');
    const started = Date.now();
    const { executionArn } = await sfn.send(
      new StartExecutionCommand({ stateMachineArn, input: JSON.stringify({ requestId }) }),
    );
    if (executionArn === undefined) throw new Error('StartExecution returned no executionArn');

    const done = await finished(sfn, executionArn);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(done.status).toBe('SUCCEEDED');
    expect(parseObject(done.output)).toEqual({ requestId, outcome: 'expired', error: 'States.Timeout' });

    const events = await history(sfn, executionArn);
    const types = events.map((e) => e.type);
    expect(types).toContain('TaskTimedOut');
    expect(types).not.toContain('TaskSucceeded');
    expect(events.find((e) => e.type === 'TaskTimedOut')?.taskTimedOutEventDetails?.error).toBe(
      'States.Timeout',
    );
    expect(types.indexOf('TaskTimedOut')).toBeLessThan(types.lastIndexOf('PassStateEntered'));

    // An approval that arrives after the deadline is refused.
    const token = scheduledToken(events);
    expect(token).toBeDefined();
    const late = await rejection(
      sfn.send(
        new SendTaskSuccessCommand({ taskToken: token, output: JSON.stringify({ outcome: 'approved' }) }),
      ),
    );
    expect(late).toBeInstanceOf(SFNServiceException);
    const after = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    expect(after.output).toBe(done.output);
  });
});
