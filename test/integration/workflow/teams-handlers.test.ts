/**
 * Teams on the AWS path, with the stack's own handlers: the bot's secret is read from Secrets
 * Manager (moto) at init, the synthesized state machine's Notify stage (moto, Lambda driver) posts
 * the card to a local Bot Connector stand-in, and a signed `adaptiveCard/action` invoke through the
 * api handler (the route API Gateway leaves to the function) records the vote in DynamoDB Local,
 * refreshes the posted card before answering, and resolves the execution.
 */
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DescribeExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbRequestStore } from '../../../functions/adapters/dynamodb/dynamodb-store.ts';
import { ensureTables } from '../../../functions/adapters/dynamodb/tables.ts';
import {
  dynamoClient,
  MOTO_ACCOUNT_ID,
  motoEndpoint,
  sfnClient,
  uniqueName,
  waitFor,
} from '../../harness/index.ts';
import { startTeamsStandIn, type TeamsStandIn } from '../../support/teams-standin.ts';
import { type ApiHandler, apiEvent, lambdaContext, startStackHandlers } from '../cdk/api-gateway-event.ts';
import type { LambdaDriver } from '../cdk/lambda-driver.ts';
import { createSynthesizedStateMachine, type MotoStateMachine } from '../cdk/moto-state-machine.ts';
import { applyStackEnvironment } from '../cdk/stack-env.ts';

const AGENT_ARN = `arn:aws:sts::${MOTO_ACCOUNT_ID}:assumed-role/ala-test-agent/session-1`;
const APP_ID = '6f1d3c2a-0b7e-4a51-9d8e-2c4b7a9e1f30';
const TENANT = '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d';
const CONVERSATION = '19:aws-approvers@thread.tacv2';
const BOB_AAD = '00000000-0000-4000-8000-000000000b0b';

const devExport = {
  action: {
    name: 'data.export',
    args: { dataset: 'sample', destination: 's3://agency-internal-archive/x/' },
  },
  resource: { type: 'aws:s3:bucket', id: 'arn:aws:s3:::dev-bucket', properties: { environment: 'dev' } },
  context: { justification: 'Refresh the staging sample, CHG-1' },
};

function textsOf(node: unknown): string[] {
  if (Array.isArray(node)) return node.flatMap(textsOf);
  if (typeof node !== 'object' || node === null) return [];
  const record = node as Record<string, unknown>;
  const own = (record.type === 'TextRun' || record.type === 'TextBlock') && typeof record.text === 'string';
  return [...(own ? [record.text as string] : []), ...Object.values(record).flatMap(textsOf)];
}

describe('Teams through the Lambda handlers', () => {
  let standIn: TeamsStandIn;
  let sfn: SFNClient;
  let machine: MotoStateMachine;
  let driver: LambdaDriver;
  let api: ApiHandler;
  let store: DynamoDbRequestStore;
  let serviceUrl: string;
  const dynamo = dynamoClient();

  beforeAll(async () => {
    standIn = await startTeamsStandIn();
    serviceUrl = `${standIn.url}/teams/`;
    sfn = sfnClient();
    machine = await createSynthesizedStateMachine(sfn);
    const tables = { requests: uniqueName('ala-requests'), audit: uniqueName('ala-audit') };
    await ensureTables(dynamo, tables);
    const secrets = new SecretsManagerClient({ endpoint: motoEndpoint() });
    const { ARN } = await secrets.send(
      new CreateSecretCommand({ Name: uniqueName('ala-teams-bot'), SecretString: 'standin-client-secret' }),
    );
    secrets.destroy();
    applyStackEnvironment(tables, machine.stateMachineArn);
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_SECRETS_MANAGER: motoEndpoint(),
      TEAMS_APP_ID: APP_ID,
      TEAMS_APP_SECRET_ARN: ARN,
      TEAMS_TENANT_ID: TENANT,
      TEAMS_CLOUD: 'public',
      TEAMS_CONVERSATION_ID: CONVERSATION,
      TEAMS_SERVICE_URL: serviceUrl,
      TEAMS_OPENID_METADATA_URL: `${standIn.url}/v1/.well-known/openidconfiguration`,
      TEAMS_TOKEN_URL: `${standIn.url}/${TENANT}/oauth2/v2.0/token`,
    });
    ({ api, driver } = await startStackHandlers({ sfn, machine }));
    store = new DynamoDbRequestStore(dynamo, tables);
  });

  afterAll(async () => {
    await driver?.stop();
    sfn?.destroy();
    dynamo.destroy();
    await standIn?.close();
  });

  /** The invoke as API Gateway hands it to the function: no IAM identity, the channel's bearer token. */
  const invokeEvent = (token: string, body: unknown) => {
    const event = apiEvent('POST', '/v1/integrations/teams/messages', { body });
    const headers = { ...(event.headers as Record<string, string>), authorization: `Bearer ${token}` };
    return {
      ...event,
      resource: '/v1/integrations/teams/messages',
      headers,
      multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    } as typeof event;
  };

  it('Notify posts the card to the Bot Connector; a signed Approve invoke through the api handler decides and ends the execution', async () => {
    const submitted = await api(
      apiEvent('POST', '/v1/action-requests', { body: devExport, userArn: AGENT_ARN }),
      lambdaContext,
    );
    expect(submitted.statusCode).toBe(202);
    const view = JSON.parse(submitted.body) as { id: string; action_hash: string };

    const posted = await waitFor(
      () =>
        standIn.activities.find(
          (a) => a.method === 'POST' && textsOf(a.card).some((t) => t.includes(view.id)),
        ),
      { what: 'the Notify stage to post the card', timeoutMs: 30_000 },
    );
    expect(posted.conversation).toBe(CONVERSATION);
    expect(posted.authorization).toBe(`Bearer ${standIn.accessToken}`);
    const tokenCall = standIn.calls.find((call) => call.target.endsWith('/oauth2/v2.0/token'));
    expect(new URLSearchParams(tokenCall?.body).get('client_secret')).toBe('standin-client-secret');

    const activity = {
      type: 'invoke',
      name: 'adaptiveCard/action',
      channelId: 'msteams',
      serviceUrl,
      from: { id: '29:bob', aadObjectId: BOB_AAD },
      recipient: { id: `28:${APP_ID}` },
      conversation: { id: CONVERSATION },
      channelData: { tenant: { id: TENANT } },
      value: {
        action: {
          type: 'Action.Execute',
          verb: 'approve',
          data: { requestId: view.id, actionHash: view.action_hash },
        },
      },
    };
    // A token for another bot is refused before the body is believed.
    const foreign = await standIn.token({
      iss: 'https://api.botframework.com',
      aud: 'another-bot',
      serviceurl: serviceUrl,
    });
    expect((await api(invokeEvent(foreign, activity), lambdaContext)).statusCode).toBe(401);
    expect((await store.get(view.id))?.status).toBe('pending');

    const token = await standIn.token({
      iss: 'https://api.botframework.com',
      aud: APP_ID,
      serviceurl: serviceUrl,
    });
    const answered = await api(invokeEvent(token, activity), lambdaContext);
    expect(answered.statusCode).toBe(200);
    const invoke = JSON.parse(answered.body) as { type: string; value: unknown };
    expect(invoke.type).toBe('application/vnd.microsoft.card.adaptive');
    expect(textsOf(invoke.value)[0]).toBe('Approved');
    // The api function refreshed the posted card before it answered (Lambda freezes afterwards).
    expect(textsOf(standIn.cardOf(posted.activityId))[0]).toBe('Approved');

    const stored = await store.get(view.id);
    expect(stored?.status).toBe('approved');
    expect(stored?.approval?.votes.map((v) => [v.approver, v.channel])).toEqual([
      ['user:bob@example.gov', 'teams'],
    ]);
    const executionArn = `${machine.stateMachineArn.replace(':stateMachine:', ':execution:')}:${view.id}`;
    const done = await waitFor(
      async () => {
        const execution = await sfn.send(new DescribeExecutionCommand({ executionArn }));
        return execution.status === 'RUNNING' ? undefined : execution;
      },
      { what: 'the execution to finish', timeoutMs: 30_000 },
    );
    expect(done.status).toBe('SUCCEEDED');
  });
});
