/**
 * People, not roles: the api Lambda handler on REST-proxy events with IAM identities, over
 * DynamoDB Local and the synthesized state machine on moto. Identity Center sessions are people,
 * a declared agent role is the agent, the agent's owner never approves its requests.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SFNClient } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../../cdk/paths.ts';
import { StepFunctionsWorkflow } from '../../../functions/adapters/aws/step-functions-workflow.ts';
import { DynamoDbTaskTokenStore } from '../../../functions/adapters/aws/task-token-store.ts';
import { DynamoDbRequestStore } from '../../../functions/adapters/dynamodb/dynamodb-store.ts';
import { ensureTables } from '../../../functions/adapters/dynamodb/tables.ts';
import { systemClock, ulidIds } from '../../../functions/adapters/system/system.ts';
import { ApprovalService } from '../../../functions/core/service.ts';
import { loadPolicyEvaluatorFromFiles } from '../../../functions/policy/files.ts';
import { dynamoClient, MOTO_ACCOUNT_ID, sfnClient, uniqueName } from '../../harness/index.ts';
import { signBundleDir, testKeys } from '../../support/signed-bundle.ts';
import { type ApiHandler, apiEvent, lambdaContext, startStackHandlers } from '../cdk/api-gateway-event.ts';
import type { LambdaDriver } from '../cdk/lambda-driver.ts';
import { createSynthesizedStateMachine, type MotoStateMachine } from '../cdk/moto-state-machine.ts';
import { applyStackEnvironment } from '../cdk/stack-env.ts';

const ACCOUNT = MOTO_ACCOUNT_ID;
const PARTNER = '222222222222';
const AGENT_ROLE = `arn:aws:iam::${ACCOUNT}:role/agents/ala-exporter`;
const DATA_OWNER_SET = 'AWSReservedSSO_DataOwner_0123456789abcdef';
const READ_ONLY_SET = 'AWSReservedSSO_ReadOnly_fedcba9876543210';

const sso = (set: string, user: string, account = ACCOUNT) =>
  `arn:aws:sts::${account}:assumed-role/${set}/${user}`;
const AGENT_SESSION = `arn:aws:sts::${ACCOUNT}:assumed-role/ala-exporter/alice@example.gov`;

/** Production CUI export: the default pack asks two data owners. */
const prodExport = {
  action: {
    name: 'data.export',
    args: { dataset: 'ledger_2026q2', destination: 's3://agency-internal-archive/fin/' },
  },
  resource: {
    type: 'aws:s3:bucket',
    id: 'arn:aws:s3:::fin-ledger-prod',
    properties: { environment: 'prod', data_classification: 'CUI' },
  },
  context: { justification: 'Quarterly reconciliation, CHG-4821', on_behalf_of: 'user:alice@example.gov' },
};

describe('IAM identities through the api handler', () => {
  let sfn: SFNClient;
  let machine: MotoStateMachine;
  let driver: LambdaDriver;
  let api: ApiHandler;
  let store: DynamoDbRequestStore;
  let policyDir: string;
  const dynamo = dynamoClient();

  const call = async (method: string, path: string, userArn: string, body?: unknown) => {
    const response = await api(apiEvent(method, path, { userArn, body }), lambdaContext);
    return { status: response.statusCode, body: JSON.parse(response.body) as Record<string, unknown> };
  };
  const vote = (id: string, actionHash: string, userArn: string) =>
    call('POST', `/v1/action-requests/${id}/decisions`, userArn, {
      decision: 'approve',
      action_hash: actionHash,
    });
  const submit = async () => {
    const res = await call('POST', '/v1/action-requests', AGENT_SESSION, prodExport);
    expect(res.status).toBe(202);
    return res.body as { id: string; action_hash: string; requester: string };
  };

  beforeAll(async () => {
    // The default pack, with Alice among the data owners and the exporter agent's role declared.
    policyDir = mkdtempSync(join(tmpdir(), 'ala-identities-'));
    const build = join(REPO_ROOT, 'policies', 'build');
    copyFileSync(join(build, 'policy.wasm'), join(policyDir, 'policy.wasm'));
    const data = JSON.parse(readFileSync(join(build, 'data.json'), 'utf8')) as {
      groups: Record<string, string[]>;
      agents: Record<string, { owners: string[]; acts_for?: unknown[]; aws_roles?: string[] }>;
    };
    data.groups['data-owners'] = ['user:alice@example.gov', 'user:bob@example.gov', 'user:carol@example.gov'];
    data.agents['agent:demo-exporter'] = {
      owners: ['user:alice@example.gov'],
      acts_for: ['user:alice@example.gov'],
      aws_roles: [AGENT_ROLE],
    };
    writeFileSync(join(policyDir, 'data.json'), JSON.stringify(data));
    // Edited data needs a new signature: signed here with a key of the test's own.
    const keys = testKeys(policyDir);
    copyFileSync(join(build, '.manifest'), join(policyDir, '.manifest'));
    signBundleDir(policyDir, keys.privateKey);

    sfn = sfnClient();
    machine = await createSynthesizedStateMachine(sfn);
    const tables = { requests: uniqueName('ala-requests'), audit: uniqueName('ala-audit') };
    await ensureTables(dynamo, tables);
    applyStackEnvironment(tables, machine.stateMachineArn);
    Object.assign(process.env, {
      POLICY_DIR: policyDir,
      POLICY_VERIFICATION_KEY: readFileSync(keys.publicKeyPath, 'utf8'),
      TRUSTED_ACCOUNT_IDS: PARTNER,
      IDENTITY_CENTER_ACCOUNT_IDS: PARTNER,
    });
    ({ api, driver } = await startStackHandlers({ sfn, machine }));
    store = new DynamoDbRequestStore(dynamo, tables);
  });

  afterAll(async () => {
    await driver?.stop();
    sfn?.destroy();
    dynamo.destroy();
    if (policyDir) rmSync(policyDir, { recursive: true, force: true });
  });

  it('names the declared agent role by its agent, not by the session name it chose', async () => {
    const request = await submit();
    expect(request.requester).toBe('agent:demo-exporter');
    expect((await store.get(request.id))?.approval?.exclude).toEqual([
      'agent:demo-exporter',
      'user:alice@example.gov',
    ]);
  });

  it('refuses Alice (Identity Center) on a request her agent made on her behalf, by either permission set', async () => {
    const request = await submit();
    for (const set of [DATA_OWNER_SET, READ_ONLY_SET]) {
      const res = await vote(request.id, request.action_hash, sso(set, 'Alice@Example.gov'));
      expect(res.status).toBe(403);
      expect(res.body).toMatchObject({ error: 'self_approval' });
    }
    expect((await store.get(request.id))?.approval?.votes).toEqual([]);
  });

  it('refuses the owner even when the agent leaves on_behalf_of out', async () => {
    const res = await call('POST', '/v1/action-requests', AGENT_SESSION, {
      ...prodExport,
      context: { justification: 'Quarterly reconciliation, CHG-4821' },
    });
    const request = res.body as { id: string; action_hash: string };
    const refused = await vote(request.id, request.action_hash, sso(DATA_OWNER_SET, 'alice@example.gov'));
    expect(refused).toMatchObject({ status: 403, body: { error: 'self_approval' } });
    expect((refused.body as { message: string }).message).toMatch(/owns agent:demo-exporter/);
  });

  it('counts two Identity Center users with one permission set as two approvals', async () => {
    const request = await submit();
    const first = await vote(request.id, request.action_hash, sso(DATA_OWNER_SET, 'bob@example.gov'));
    expect(first).toMatchObject({ status: 200, body: { status: 'pending', approval: { received: 1 } } });
    const second = await vote(request.id, request.action_hash, sso(DATA_OWNER_SET, 'carol@example.gov'));
    expect(second).toMatchObject({ status: 200, body: { status: 'approved', approval: { received: 2 } } });
    expect((await store.get(request.id))?.approval?.votes.map((v) => v.approver)).toEqual([
      'user:bob@example.gov',
      'user:carol@example.gov',
    ]);
  });

  it('counts one user voting through two routes once', async () => {
    const request = await submit();
    // Route 1: the API, permission set DataOwner in the API's account.
    expect((await vote(request.id, request.action_hash, sso(DATA_OWNER_SET, 'bob@example.gov'))).status).toBe(
      200,
    );
    // Route 2: the API again, another permission set in a listed Identity Center account, name in another case.
    const again = await vote(request.id, request.action_hash, sso(READ_ONLY_SET, 'BOB@example.gov', PARTNER));
    expect(again).toMatchObject({ status: 200, body: { status: 'pending', approval: { received: 1 } } });
    // Route 3: a chat channel calling the core service with the same principal.
    const chat = new ApprovalService({
      store,
      policy: await loadPolicyEvaluatorFromFiles({
        wasm: join(policyDir, 'policy.wasm'),
        data: join(policyDir, 'data.json'),
      }),
      clock: systemClock,
      ids: ulidIds(),
      workflow: new StepFunctionsWorkflow({
        client: sfn,
        stateMachineArn: machine.stateMachineArn,
        tokens: new DynamoDbTaskTokenStore(dynamo, { tableName: process.env.REQUESTS_TABLE_NAME ?? '' }),
      }),
    });
    const viaChat = await chat.review(request.id, 'user:bob@example.gov', {
      decision: 'approve',
      actionHash: request.action_hash,
      channel: 'slack',
    });
    expect(viaChat.duplicate).toBe(true);
    const stored = await store.get(request.id);
    expect(stored?.status).toBe('pending');
    expect(stored?.approval?.votes).toHaveLength(1);
  });

  it('refuses callers from accounts it was not told to trust, and never takes a role session for a person', async () => {
    const stranger = await call(
      'GET',
      '/v1/action-requests?status=pending',
      sso(DATA_OWNER_SET, 'bob@example.gov', '333333333333'),
    );
    expect(stranger.status).toBe(401);

    const request = await submit();
    // An undeclared role whose session is named like a data owner is that role, not the person.
    const impostor = await vote(
      request.id,
      request.action_hash,
      `arn:aws:sts::${ACCOUNT}:assumed-role/deployer/bob@example.gov`,
    );
    expect(impostor.status).toBe(404);
  });
});
