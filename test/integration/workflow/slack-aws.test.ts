/**
 * Slack on the AWS path: the workflow function's Notify stage posts the card through the
 * notification port (the synthesized state machine on moto, DynamoDB Local, the Slack secret in
 * moto's Secrets Manager, the Slack Web API stand-in), and a click signed as Slack signs it, sent
 * through the api handler as API Gateway delivers it (no IAM identity), resolves the execution.
 */
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DescribeExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { LambdaEvent } from 'hono/aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replayItemId } from '../../../functions/adapters/aws/replay-guard.ts';
import { ensureTables } from '../../../functions/adapters/dynamodb/tables.ts';
import {
  documentClient,
  dynamoClient,
  MOTO_ACCOUNT_ID,
  motoEndpoint,
  sfnClient,
  uniqueName,
  waitFor,
} from '../../harness/index.ts';
import { buttonClick, SlackStandIn, signedInteraction } from '../../support/slack-stand-in.ts';
import { type ApiHandler, apiEvent, lambdaContext, startStackHandlers } from '../cdk/api-gateway-event.ts';
import type { LambdaDriver } from '../cdk/lambda-driver.ts';
import { createSynthesizedStateMachine, type MotoStateMachine } from '../cdk/moto-state-machine.ts';
import { applyStackEnvironment } from '../cdk/stack-env.ts';

const AGENT_ARN = `arn:aws:sts::${MOTO_ACCOUNT_ID}:assumed-role/ala-test-agent/session-1`;
const SIGNING_SECRET = 'aws-path-signing-secret-0123456789';
const BOT_TOKEN = 'xoxb-aws-path-standin';
const CHANNEL = 'C0AWSAPPROVALS';

const devExport = {
  action: {
    name: 'data.export',
    args: { dataset: 'sample', destination: 's3://agency-internal-archive/x/' },
  },
  resource: { type: 'aws:s3:bucket', id: 'arn:aws:s3:::dev-bucket', properties: { environment: 'dev' } },
  context: { justification: 'Refresh the staging sample, CHG-1' },
};

/** Slack's POST as API Gateway hands it to the api function: form body, no IAM identity. */
function slackEvent(signed: { headers: Record<string, string>; body: string }): LambdaEvent {
  const event = apiEvent('POST', '/v1/integrations/slack/interactions') as LambdaEvent & {
    headers: Record<string, string>;
    multiValueHeaders: Record<string, string[]>;
    body: string | null;
  };
  const headers = { host: 'api.example', ...signed.headers };
  event.headers = headers;
  event.multiValueHeaders = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]]));
  event.body = signed.body;
  return event;
}

describe('Slack on the AWS path', () => {
  let sfn: SFNClient;
  let machine: MotoStateMachine;
  let driver: LambdaDriver;
  let api: ApiHandler;
  let slack: SlackStandIn;
  let tables: { requests: string; audit: string };
  const dynamo = dynamoClient();
  const secrets = new SecretsManagerClient({ endpoint: motoEndpoint(), region: 'us-east-1' });

  beforeAll(async () => {
    slack = await SlackStandIn.start({ botToken: BOT_TOKEN });
    sfn = sfnClient();
    machine = await createSynthesizedStateMachine(sfn);
    tables = { requests: uniqueName('ala-requests'), audit: uniqueName('ala-audit') };
    await ensureTables(dynamo, tables);
    const secret = await secrets.send(
      new CreateSecretCommand({
        Name: uniqueName('ala-slack'),
        SecretString: JSON.stringify({ signingSecret: SIGNING_SECRET, botToken: BOT_TOKEN }),
      }),
    );
    applyStackEnvironment(tables, machine.stateMachineArn);
    Object.assign(process.env, {
      SLACK_SECRET_ARN: secret.ARN,
      SLACK_CHANNEL: CHANNEL,
      SLACK_API_URL: slack.url,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: motoEndpoint(),
    });
    ({ api, driver } = await startStackHandlers({ sfn, machine }));
  });

  afterAll(async () => {
    await driver?.stop();
    await slack?.close();
    for (const name of ['SLACK_SECRET_ARN', 'SLACK_CHANNEL', 'SLACK_API_URL']) delete process.env[name];
    sfn?.destroy();
    secrets.destroy();
    dynamo.destroy();
  });

  it('Notify posts the card through the port; a signed click through the api handler resolves the execution', async () => {
    const submitted = await api(
      apiEvent('POST', '/v1/action-requests', { body: devExport, userArn: AGENT_ARN }),
      lambdaContext,
    );
    expect(submitted.statusCode).toBe(202);
    const view = JSON.parse(submitted.body) as { id: string; action_hash: string };

    const card = await slack.waitForCall(
      'chat.postMessage',
      (call) => call.args.channel === CHANNEL && String(call.args.text).includes(view.id),
      30_000,
    );
    const value = `${view.id} ${view.action_hash}`;
    expect(JSON.stringify(card.args.blocks)).toContain(value);

    // An unsigned call is refused before anything is read (the route has no IAM authorisation).
    const unsigned = await api(
      slackEvent({
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'payload=%7B%7D',
      }),
      lambdaContext,
    );
    expect(unsigned.statusCode).toBe(401);

    // The notify stage recorded the post; wait for it so the click's refresh finds the reference.
    await waitFor(
      () => (driver.invocationsOf(view.id).some((i) => i.stage === 'notify') ? true : undefined),
      { what: 'the notify step', timeoutMs: 30_000 },
    );
    const signed = signedInteraction(
      SIGNING_SECRET,
      buttonClick({
        user: 'U0DEMOBOB',
        actionId: 'ala.approve',
        value,
        channel: CHANNEL,
        ts: String(card.args.ts ?? ''),
      }),
    );
    const updatesBefore = slack.callsOf('chat.update').length;
    const clicked = await api(slackEvent(signed), lambdaContext);
    expect(clicked.statusCode).toBe(200);
    // The api function refreshed the card before it answered (Lambda freezes after).
    const updates = slack.callsOf('chat.update').slice(updatesBefore);
    expect(
      updates.some((u) => JSON.stringify(u.args.blocks).includes('Approved by user:bob@example.gov')),
    ).toBe(true);

    const executionArn = `${machine.stateMachineArn.replace(':stateMachine:', ':execution:')}:${view.id}`;
    const done = await waitFor(
      async () => {
        const execution = await sfn.send(new DescribeExecutionCommand({ executionArn }));
        return execution.status === 'RUNNING' ? undefined : execution;
      },
      { what: 'the execution to finish', timeoutMs: 30_000 },
    );
    expect(done.status).toBe('SUCCEEDED');
    const status = await api(
      apiEvent('GET', `/v1/action-requests/${view.id}`, { userArn: AGENT_ARN }),
      lambdaContext,
    );
    expect(JSON.parse(status.body)).toMatchObject({ status: 'approved' });

    // The signature is remembered in the requests table with a TTL, so a replay to any instance is refused.
    const doc = documentClient();
    const item = await doc.send(
      new GetCommand({
        TableName: tables.requests,
        Key: { id: replayItemId(`slack:${signed.headers['x-slack-signature']}`) },
      }),
    );
    doc.destroy();
    expect(Number(item.Item?.ttl)).toBeGreaterThan(Date.now() / 1000);
    const replayed = await api(slackEvent(signed), lambdaContext);
    expect(replayed.statusCode).toBe(401);
    expect(JSON.parse(replayed.body)).toMatchObject({ error: 'replayed_request' });
    expect(slack.violations).toEqual([]);
  });
});
