/**
 * The Lambda entry points as API Gateway and Step Functions invoke them: the api handler takes a
 * REST proxy event with a SigV4-verified identity, commits to DynamoDB Local and starts the
 * synthesized state machine on moto; a vote resumes it; the grant answers 501 (no broker configured).
 */
import { DescribeExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StepFunctionsWorkflow } from '../../../functions/adapters/aws/step-functions-workflow.ts';
import { DynamoDbTaskTokenStore } from '../../../functions/adapters/aws/task-token-store.ts';
import { DynamoDbRequestStore } from '../../../functions/adapters/dynamodb/dynamodb-store.ts';
import { ensureTables } from '../../../functions/adapters/dynamodb/tables.ts';
import { systemClock, ulidIds } from '../../../functions/adapters/system/system.ts';
import { ApprovalService } from '../../../functions/core/service.ts';
import { dynamoClient, MOTO_ACCOUNT_ID, sfnClient, uniqueName, waitFor } from '../../harness/index.ts';
import { decision, fixedPolicy } from '../../support/fixtures.ts';
import { type ApiHandler, apiEvent, lambdaContext, startStackHandlers } from '../cdk/api-gateway-event.ts';
import type { LambdaDriver } from '../cdk/lambda-driver.ts';
import { createSynthesizedStateMachine, type MotoStateMachine } from '../cdk/moto-state-machine.ts';
import { applyStackEnvironment } from '../cdk/stack-env.ts';

const AGENT_ARN = `arn:aws:sts::${MOTO_ACCOUNT_ID}:assumed-role/ala-test-agent/session-1`;
const AGENT = `iam:arn:aws:iam::${MOTO_ACCOUNT_ID}:role/ala-test-agent`;
const OTHER_ARN = `arn:aws:iam::${MOTO_ACCOUNT_ID}:user/someone-else`;

/** Non-production export: the default policy asks one data-owner, with an aws_sts grant. */
const devExport = {
  action: {
    name: 'data.export',
    args: { dataset: 'sample', destination: 's3://agency-internal-archive/x/' },
  },
  resource: { type: 'aws:s3:bucket', id: 'arn:aws:s3:::dev-bucket', properties: { environment: 'dev' } },
  context: { justification: 'Refresh the staging sample, CHG-1' },
};

describe('Lambda handlers', () => {
  let sfn: SFNClient;
  let machine: MotoStateMachine;
  let driver: LambdaDriver;
  let api: ApiHandler;
  let store: DynamoDbRequestStore;
  let workflow: StepFunctionsWorkflow;
  const dynamo = dynamoClient();

  beforeAll(async () => {
    sfn = sfnClient();
    machine = await createSynthesizedStateMachine(sfn);
    const tables = { requests: uniqueName('ala-requests'), audit: uniqueName('ala-audit') };
    await ensureTables(dynamo, tables);

    // Without its configuration a function fails at init, naming what is missing.
    delete process.env.REQUESTS_TABLE_NAME;
    await expect(import('../../../functions/handlers/sweeper.ts')).rejects.toThrow(
      /environment variable REQUESTS_TABLE_NAME is not set \(the requests table of the stack\)/,
    );

    applyStackEnvironment(tables, machine.stateMachineArn);
    ({ api, driver } = await startStackHandlers({ sfn, machine }));
    store = new DynamoDbRequestStore(dynamo, tables);
    workflow = new StepFunctionsWorkflow({
      client: sfn,
      stateMachineArn: machine.stateMachineArn,
      tokens: new DynamoDbTaskTokenStore(dynamo, { tableName: tables.requests }),
    });
  });

  afterAll(async () => {
    await driver?.stop();
    sfn?.destroy();
    dynamo.destroy();
  });

  it('api: refuses a call without a verified IAM identity with 401', async () => {
    const response = await api(apiEvent('GET', '/v1/action-requests?status=pending'), lambdaContext);
    expect(response.statusCode).toBe(401);
  });

  it('api: submits as the SigV4 caller, starts the approval execution, and the vote resumes it; the grant answers 503', async () => {
    const submitted = await api(
      apiEvent('POST', '/v1/action-requests', { body: devExport, userArn: AGENT_ARN }),
      lambdaContext,
    );
    expect(submitted.statusCode).toBe(202);
    const view = JSON.parse(submitted.body) as { id: string; status: string; action_hash: string };
    expect(view.status).toBe('pending');
    const stored = await store.get(view.id);
    expect(stored?.subject.id).toBe(AGENT);

    const executionArn = `${machine.stateMachineArn.replace(':stateMachine:', ':execution:')}:${view.id}`;
    expect((await sfn.send(new DescribeExecutionCommand({ executionArn }))).status).toBe('RUNNING');
    await waitFor(
      () => (driver.invocationsOf(view.id).some((i) => i.stage === 'notify') ? true : undefined),
      {
        what: 'the notify step',
      },
    );

    // Someone else cannot see it at all.
    const foreign = await api(
      apiEvent('GET', `/v1/action-requests/${view.id}`, { userArn: OTHER_ARN }),
      lambdaContext,
    );
    expect(foreign.statusCode).toBe(404);

    // A data-owner approves (through the service here; chat and API votes end the same way).
    const approver = new ApprovalService({
      store,
      policy: fixedPolicy(decision()),
      clock: systemClock,
      ids: ulidIds(),
      workflow,
    });
    await approver.review(view.id, 'user:bob@example.gov', {
      decision: 'approve',
      actionHash: view.action_hash,
      channel: 'api',
    });
    const done = await waitFor(
      async () => {
        const execution = await sfn.send(new DescribeExecutionCommand({ executionArn }));
        return execution.status === 'RUNNING' ? undefined : execution;
      },
      { what: 'the execution to finish', timeoutMs: 15_000 },
    );
    expect(done.status).toBe('SUCCEEDED');

    const status = await api(
      apiEvent('GET', `/v1/action-requests/${view.id}`, { userArn: AGENT_ARN }),
      lambdaContext,
    );
    expect(JSON.parse(status.body)).toMatchObject({ id: view.id, status: 'approved' });

    // No credential broker configured: an aws_sts grant is refused as a configuration gap (not
    // retryable), and nothing is redeemed.
    const grant = await api(
      apiEvent('POST', `/v1/action-requests/${view.id}/grant`, { userArn: AGENT_ARN }),
      lambdaContext,
    );
    expect(grant.statusCode).toBe(501);
    expect(JSON.parse(grant.body)).toMatchObject({ error: 'credentials_not_configured' });
    expect((await store.get(view.id))?.grantRedeemedAt).toBeUndefined();
  });
});
