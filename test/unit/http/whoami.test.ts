import { describe, expect, it } from 'vitest';
import { SqliteRequestStore } from '../../../functions/adapters/sqlite/sqlite-store.ts';
import { ulidIds } from '../../../functions/adapters/system/system.ts';
import { ApprovalService } from '../../../functions/core/service.ts';
import { createApp } from '../../../functions/http/app.ts';
import { bearerTokenAuthenticator, iamAuthenticator } from '../../../functions/http/auth.ts';
import { silentLogger } from '../../../functions/observability/logger.ts';
import { testApp } from '../../support/app.ts';
import { decision, exportInput, fixedPolicy, ManualClock } from '../../support/fixtures.ts';

interface Whoami {
  principal: string;
  type: string;
  authentication: string;
  groups: string[];
  auditor: boolean;
  chat_identities: { slack: string[]; teams: string[] };
  policy_digest: string;
  review?: {
    request_id: string;
    status: string;
    may_vote: boolean;
    reason?: { code: string; message: string };
    approving_groups: string[];
    your_vote?: { decision: string; time: string };
  };
}

async function submit(call: ReturnType<typeof testApp>['call']) {
  const res = await call('POST', '/v1/action-requests', { body: exportInput });
  return (await res.json()) as { id: string; action_hash: string };
}

describe('GET /v1/whoami', () => {
  it("names the caller, its type, the policy data's groups and chat bindings, and how it authenticated", async () => {
    const { call } = testApp();

    const bob = (await (await call('GET', '/v1/whoami', { token: 'bob' })).json()) as Whoami;
    const audrey = (await (await call('GET', '/v1/whoami', { token: 'audrey' })).json()) as Whoami;
    const agent = (await (await call('GET', '/v1/whoami', { token: 'agent' })).json()) as Whoami;

    expect(bob).toEqual({
      principal: 'user:bob@example.gov',
      type: 'user',
      authentication: 'bearer',
      groups: ['data-owners'],
      auditor: false,
      chat_identities: { slack: ['U0BOB'], teams: [] },
      policy_digest: `sha256:${'a'.repeat(64)}`,
    });
    expect(audrey).toMatchObject({ groups: ['auditors'], auditor: true });
    expect(agent).toMatchObject({ principal: 'agent:demo-exporter', type: 'agent', groups: [] });
  });

  it('says iam for a caller API Gateway authenticated with SigV4', async () => {
    const app = createApp({
      service: new ApprovalService({
        store: new SqliteRequestStore({ path: ':memory:' }),
        policy: fixedPolicy(decision()),
        clock: new ManualClock(),
        ids: ulidIds(),
      }),
      authenticate: iamAuthenticator(),
      logger: silentLogger,
    });
    const event = {
      requestContext: {
        accountId: '123456789012',
        identity: { userArn: 'arn:aws-us-gov:sts::123456789012:assumed-role/agent/s1' },
      },
    };

    const res = await app.request(
      '/v1/whoami',
      {
        headers: {
          authorization:
            'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261129/us-gov-west-1/execute-api/aws4_request',
        },
      },
      { event },
    );

    expect(await res.json()).toMatchObject({
      principal: 'iam:arn:aws-us-gov:iam::123456789012:role/agent',
      type: 'iam',
      authentication: 'iam',
      groups: [],
    });
  });

  it('answers 401 without credentials', async () => {
    const { call } = testApp();

    const res = await call('GET', '/v1/whoami', { token: null });

    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: 'unauthenticated' });
  });

  it('says whether the caller may vote on a request, and why not', async () => {
    const { call } = testApp();
    const { id, action_hash } = await submit(call);
    await call('POST', `/v1/action-requests/${id}/decisions`, {
      token: 'bob',
      body: { decision: 'approve', action_hash },
    });
    const ask = async (token: 'bob' | 'carol' | 'agent' | 'audrey') =>
      ((await (await call('GET', `/v1/whoami?request_id=${id}`, { token })).json()) as Whoami).review;

    const carol = await ask('carol');
    const bob = await ask('bob');
    const agent = await ask('agent');
    const audrey = await ask('audrey');

    expect(carol).toEqual({
      request_id: id,
      status: 'pending',
      may_vote: true,
      approving_groups: ['data-owners'],
    });
    expect(bob).toMatchObject({
      may_vote: false,
      reason: { code: 'already_voted' },
      your_vote: { decision: 'approve' },
    });
    expect(agent).toMatchObject({ may_vote: false, reason: { code: 'self_approval' } });
    expect(audrey).toMatchObject({ may_vote: false, reason: { code: 'not_eligible' } });
    expect(audrey?.reason?.message).toContain('not a member of any approving group (data-owners)');
  });

  it('names the owner of the requesting agent, and the person it acts for, as the requesting side', async () => {
    const service = new ApprovalService({
      store: new SqliteRequestStore({ path: ':memory:' }),
      policy: fixedPolicy(decision()),
      clock: new ManualClock(),
      ids: ulidIds(),
    });
    const app = createApp({
      service,
      authenticate: bearerTokenAuthenticator([
        { token: 'agent-token-0123456789abcdef', id: 'agent:demo-exporter' },
        { token: 'alice-token-0123456789abcdef', id: 'user:alice@example.gov' },
      ]),
      logger: silentLogger,
    });
    const as = (who: 'agent' | 'alice', path: string, body?: unknown) =>
      app.request(path, {
        method: body === undefined ? 'GET' : 'POST',
        headers: {
          authorization: `Bearer ${who}-token-0123456789abcdef`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    // Alice owns agent:demo-exporter (test/support/fixtures.ts); one request names her, one does not.
    const { context: _context, ...withoutOnBehalfOf } = exportInput;
    const ownRequest = (await (await as('agent', '/v1/action-requests', withoutOnBehalfOf)).json()) as {
      id: string;
    };
    const forAlice = (await (await as('agent', '/v1/action-requests', exportInput)).json()) as { id: string };

    const asOwner = (await (await as('alice', `/v1/whoami?request_id=${ownRequest.id}`)).json()) as Whoami;
    const asActedFor = (await (await as('alice', `/v1/whoami?request_id=${forAlice.id}`)).json()) as Whoami;

    expect(asOwner.review).toMatchObject({ may_vote: false, reason: { code: 'self_approval' } });
    expect(asOwner.review?.reason?.message).toContain('owns agent:demo-exporter');
    expect(asActedFor.review).toMatchObject({ may_vote: false, reason: { code: 'self_approval' } });
    expect(asActedFor.review?.reason?.message).toContain('the person this request acts for');
  });

  it('says a decided request takes no more votes', async () => {
    const { call } = testApp();
    const { id } = await submit(call);
    await call('POST', `/v1/action-requests/${id}/cancel`);

    const res = await call('GET', `/v1/whoami?request_id=${id}`, { token: 'carol' });

    expect(((await res.json()) as Whoami).review).toMatchObject({
      status: 'cancelled',
      may_vote: false,
      reason: { code: 'request_not_pending' },
    });
  });

  it('says a request past its deadline takes no more votes, before its timer has fired', async () => {
    const { call, clock } = testApp();
    const { id } = await submit(call);
    clock.advance(3600);

    const res = await call('GET', `/v1/whoami?request_id=${id}`, { token: 'carol' });

    expect(((await res.json()) as Whoami).review).toMatchObject({
      status: 'pending',
      may_vote: false,
      reason: { code: 'request_not_pending', message: expect.stringContaining('passed its deadline') },
    });
  });

  it('answers 404 for a request the caller may not see, and 400 for a malformed id', async () => {
    const { call } = testApp();
    const { id } = await submit(call);

    const hidden = await call('GET', `/v1/whoami?request_id=${id}`, { token: 'mallory' });
    const malformed = await call('GET', '/v1/whoami?request_id=r_1', { token: 'bob' });

    expect(hidden.status).toBe(404);
    expect(await malformed.json()).toMatchObject({
      error: 'invalid_request',
      message: expect.stringContaining('request_id'),
    });
    expect(malformed.status).toBe(400);
  });

  it('is described in the OpenAPI document with its response schema', async () => {
    const { call } = testApp();

    const doc = (await (await call('GET', '/v1/openapi.json', { token: null })).json()) as {
      paths: Record<string, { get?: { operationId: string; responses: Record<string, unknown> } }>;
      components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
    };

    expect(doc.paths['/v1/whoami']?.get?.operationId).toBe('whoami');
    expect(Object.keys(doc.components.schemas.Whoami?.properties ?? {})).toEqual(
      expect.arrayContaining(['principal', 'type', 'authentication', 'groups', 'review']),
    );
  });
});
