/**
 * Teams approvals through the local gateway, over real HTTP: the Microsoft side (OpenID metadata,
 * key set, token endpoint, Bot Connector) is a local stand-in on 127.0.0.1 and the channel's JWTs
 * are signed with a key made here. The policy is the committed default pack, its data extended
 * with a Teams binding for the requesting agent and a short non-production deadline.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../../functions/core/model.ts';
import { loadConfig, REPO_ROOT } from '../../../functions/local/config.ts';
import { type RunningGateway, startGateway } from '../../../functions/local/gateway.ts';
import { loadPolicyEvaluatorFromFiles } from '../../../functions/policy/files.ts';
import { PROD_CUI_EXPORT } from '../../fixtures/requests.ts';
import { waitFor } from '../../harness/index.ts';
import { startTeamsStandIn, type TeamsStandIn, unsignedToken } from '../../support/teams-standin.ts';

const APP_ID = '6f1d3c2a-0b7e-4a51-9d8e-2c4b7a9e1f30';
const TENANT = '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d';
const CONVERSATION = '19:approvals@thread.tacv2';
const PUBLIC_ISSUER = 'https://api.botframework.com';
/** Entra object ids the default pack's data binds (identities.teams), and one bound here. */
const AAD = {
  bob: '00000000-0000-4000-8000-000000000b0b',
  carol: '00000000-0000-4000-8000-0000000ca201',
  alice: '00000000-0000-4000-8000-00000000a11c',
  dave: '00000000-0000-4000-8000-000000000da7',
  grace: '00000000-0000-4000-8000-00000009ace0',
  agent: '00000000-0000-4000-8000-0000000a9e17',
  stranger: '00000000-0000-4000-8000-00000000f00d',
} as const;

interface InvokeAnswer {
  statusCode: number;
  type: string;
  value: unknown;
}

/** Every text a card shows, in order. */
function textsOf(node: unknown): string[] {
  if (Array.isArray(node)) return node.flatMap(textsOf);
  if (typeof node !== 'object' || node === null) return [];
  const record = node as Record<string, unknown>;
  const own = (record.type === 'TextRun' || record.type === 'TextBlock') && typeof record.text === 'string';
  return [...(own ? [record.text as string] : []), ...Object.values(record).flatMap(textsOf)];
}

/** The `Action.Execute` verbs on a card, wherever they are (a ShowCard holds Reject's). */
function verbsOf(node: unknown): string[] {
  if (Array.isArray(node)) return node.flatMap(verbsOf);
  if (typeof node !== 'object' || node === null) return [];
  const record = node as Record<string, unknown>;
  const own = record.type === 'Action.Execute' && typeof record.verb === 'string' ? [record.verb] : [];
  return [...own, ...Object.values(record).flatMap(verbsOf)];
}

describe('Teams approvals on the local gateway', () => {
  let standIn: TeamsStandIn;
  let gateway: RunningGateway;
  let dir: string;
  let agentToken: string;
  let serviceUrl: string;

  beforeAll(async () => {
    standIn = await startTeamsStandIn();
    serviceUrl = `${standIn.url}/teams/`;
    dir = mkdtempSync(join(tmpdir(), 'ala-teams-'));
    const data = JSON.parse(readFileSync(join(REPO_ROOT, 'policies/build/data.json'), 'utf8'));
    data.identities.teams[AAD.agent] = 'agent:demo-exporter';
    data.approval_profiles.data_export_nonprod.timeout_seconds = 2;
    writeFileSync(join(dir, 'data.json'), JSON.stringify(data));
    agentToken = `tok_${randomBytes(12).toString('hex')}`;
    writeFileSync(
      join(dir, 'gateway.json'),
      JSON.stringify({
        port: 0,
        dataDir: join(dir, 'data'),
        policy: { wasm: join(REPO_ROOT, 'policies/build/policy.wasm'), data: join(dir, 'data.json') },
        principals: [{ token: agentToken, id: 'agent:demo-exporter' }],
        teams: {
          appId: APP_ID,
          appPassword: 'standin-client-secret',
          tenantId: TENANT,
          conversation: CONVERSATION,
          serviceUrl,
          openIdMetadataUrl: `${standIn.url}/v1/.well-known/openidconfiguration`,
          tokenUrl: `${standIn.url}/${TENANT}/oauth2/v2.0/token`,
        },
      }),
    );
    const { config } = loadConfig(join(dir, 'gateway.json'));
    const quiet = { debug() {}, info() {}, warn() {}, error() {} };
    gateway = await startGateway(config, await loadPolicyEvaluatorFromFiles(config.policy), quiet);
  });

  afterAll(async () => {
    await gateway?.close();
    await standIn?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const submit = async (body: unknown) => {
    const response = await fetch(`${gateway.url}/v1/action-requests`, {
      method: 'POST',
      headers: { authorization: `Bearer ${agentToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(response.status).toBe(202);
    return (await response.json()) as { id: string; action_hash: string; status: string };
  };

  const events = async (id: string): Promise<readonly AuditEvent[]> =>
    (await gateway.service.audit(id, 'user:audrey@example.gov')).events;

  const goodToken = () => standIn.token({ iss: PUBLIC_ISSUER, aud: APP_ID, serviceurl: serviceUrl });

  const activity = (
    verb: string,
    request: { id: string; action_hash: string },
    aad: string | undefined,
    extra: Record<string, unknown> = {},
  ) => ({
    type: 'invoke',
    name: 'adaptiveCard/action',
    channelId: 'msteams',
    serviceUrl,
    from: { id: '29:user', ...(aad ? { aadObjectId: aad } : {}) },
    recipient: { id: `28:${APP_ID}` },
    conversation: { id: CONVERSATION },
    channelData: { tenant: { id: TENANT } },
    value: {
      action: {
        type: 'Action.Execute',
        verb,
        data: { requestId: request.id, actionHash: request.action_hash, ...extra },
      },
      trigger: 'manual',
    },
  });

  const post = (body: unknown, token: string | undefined) =>
    fetch(`${gateway.url}/v1/integrations/teams/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });

  const click = async (...args: Parameters<typeof activity>): Promise<InvokeAnswer> => {
    const response = await post(activity(...args), await goodToken());
    expect(response.status).toBe(200);
    return (await response.json()) as InvokeAnswer;
  };

  const cardPostedFor = (id: string, count = 1) =>
    waitFor(
      () => {
        const posted = standIn.activities.filter(
          (a) => a.method === 'POST' && textsOf(a.card).some((text) => text.includes(id)),
        );
        return posted.length >= count ? posted : undefined;
      },
      { what: `the card for ${id} to be posted`, timeoutMs: 15_000 },
    );

  let prod: { id: string; action_hash: string };
  let posted: string;

  it('posts the approval card, with Approve, Reject and Escalate, to the configured conversation with the bot’s token', async () => {
    prod = await submit({
      ...PROD_CUI_EXPORT,
      context: { ...PROD_CUI_EXPORT.context, on_behalf_of: 'user:alice@example.gov' },
    });
    const [first] = await cardPostedFor(prod.id);
    expect(first?.conversation).toBe(CONVERSATION);
    expect(first?.authorization).toBe(`Bearer ${standIn.accessToken}`);
    expect(verbsOf(first?.card)).toEqual(['approve', 'reject', 'escalate']);
    expect(textsOf(first?.card).join('\n')).toContain('0 of 2 approvals');
    const tokenCall = standIn.calls.find((call) => call.target.endsWith('/oauth2/v2.0/token'));
    expect(new URLSearchParams(tokenCall?.body)).toMatchObject(
      new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: APP_ID,
        client_secret: 'standin-client-secret',
        scope: 'https://api.botframework.com/.default',
      }),
    );
    posted = first?.activityId ?? '';
    const sent = (await events(prod.id)).filter((e) => e.type === 'notification.sent');
    expect(sent.map((e) => e.data)).toEqual([
      {
        channel: 'teams',
        recipients: [CONVERSATION],
        reference: `${encodeURIComponent(CONVERSATION)}/${posted}`,
      },
    ]);
  });

  it('counts a valid Approve click once, answers with the updated card and refreshes the posted one', async () => {
    const answer = await click('approve', prod, AAD.bob, { comment: 'matches CHG-4821' });
    expect(answer.type).toBe('application/vnd.microsoft.card.adaptive');
    expect(textsOf(answer.value).join('\n')).toContain('1 of 2 approvals');
    const recorded = (await events(prod.id)).filter((e) => e.type === 'review.recorded');
    expect(recorded.map((e) => [e.actor, e.data.channel, e.data.comment])).toEqual([
      ['user:bob@example.gov', 'teams', 'matches CHG-4821'],
    ]);
    await waitFor(
      () => (textsOf(standIn.cardOf(posted)).join('\n').includes('1 of 2 approvals') ? true : undefined),
      { what: 'the posted card to show the vote', timeoutMs: 15_000 },
    );
  });

  it('does not count a double click (a retried invoke) twice', async () => {
    const again = await click('approve', prod, AAD.bob, { comment: 'matches CHG-4821' });
    expect(textsOf(again.value).join('\n')).toContain('1 of 2 approvals');
    expect((await events(prod.id)).filter((e) => e.type === 'review.recorded')).toHaveLength(1);
  });

  describe('refuses a bad token with 401 and changes nothing', () => {
    const cases: [string, () => Promise<string | undefined>][] = [
      ['no token at all', async () => undefined],
      [
        'wrong issuer',
        () => standIn.token({ iss: 'https://sts.windows.net/evil/', aud: APP_ID, serviceurl: serviceUrl }),
      ],
      [
        'wrong audience',
        () => standIn.token({ iss: PUBLIC_ISSUER, aud: 'another-bot', serviceurl: serviceUrl }),
      ],
      [
        'expired',
        () => standIn.token({ iss: PUBLIC_ISSUER, aud: APP_ID, serviceurl: serviceUrl, expiresIn: -600 }),
      ],
      [
        'unknown key id',
        () =>
          standIn.token(
            { iss: PUBLIC_ISSUER, aud: APP_ID, serviceurl: serviceUrl },
            { key: 'unknown', kid: 'not-listed' },
          ),
      ],
      [
        'a listed key id but another key',
        () => standIn.token({ iss: PUBLIC_ISSUER, aud: APP_ID, serviceurl: serviceUrl }, { key: 'unknown' }),
      ],
      [
        'the none algorithm',
        async () => unsignedToken({ iss: PUBLIC_ISSUER, aud: APP_ID, serviceurl: serviceUrl }),
      ],
      [
        'a serviceUrl other than the activity’s',
        () =>
          standIn.token({ iss: PUBLIC_ISSUER, aud: APP_ID, serviceurl: 'https://attacker.example/teams/' }),
      ],
    ];
    it.each(cases)('%s', async (_name, token) => {
      const before = (await events(prod.id)).length;
      const response = await post(activity('approve', prod, AAD.carol), await token());
      expect(response.status).toBe(401);
      expect(((await response.json()) as { error: string }).error).toBe('unauthenticated');
      expect(await events(prod.id)).toHaveLength(before);
    });
  });

  it.each([
    [
      'an unbound Teams user',
      AAD.stranger,
      /not linked to an approver.*00000000-0000-4000-8000-00000000f00d.*identities\.teams/,
    ],
    ['the requesting agent', AAD.agent, /requester cannot approve its own request/],
    [
      'the declared human the agent acts for',
      AAD.alice,
      /alice@example\.gov (is the person this request acts for|owns)/,
    ],
    // Not one who may see the request: told nothing about it, as the API would.
    ['a user in no approving group', AAD.dave, /does not exist, or you may not see it/],
  ])('refuses a click from %s with a message, leaving no vote', async (_who, aad, message) => {
    const before = (await events(prod.id)).length;
    const answer = await click('approve', prod, aad);
    expect(answer.type).toBe('application/vnd.microsoft.activity.message');
    expect(answer.value).toMatch(message);
    expect(await events(prod.id)).toHaveLength(before);
  });

  it('refuses a click from another tenant', async () => {
    const body = { ...activity('approve', prod, AAD.carol), channelData: { tenant: { id: 'other-tenant' } } };
    const response = await post(body, await goodToken());
    expect(((await response.json()) as InvokeAnswer).value).toMatch(/another Microsoft 365 organization/);
    expect((await events(prod.id)).filter((e) => e.type === 'review.recorded')).toHaveLength(1);
  });

  it('asks for a comment before a rejection counts', async () => {
    const answer = await click('reject', prod, AAD.carol, { rejectComment: '   ' });
    expect(answer.value).toMatch(/rejection needs a comment/);
    expect((await events(prod.id)).filter((e) => e.type === 'review.recorded')).toHaveLength(1);
  });

  it('escalates on the Escalate click once, tells the escalation group, and the escalated approver decides', async () => {
    const answer = await click('escalate', prod, AAD.carol);
    expect(textsOf(answer.value).join('\n')).toContain('Escalated to: ');
    expect(verbsOf(answer.value)).toEqual(['approve', 'reject']);
    await click('escalate', prod, AAD.carol);
    const escalated = (await events(prod.id)).filter((e) => e.type === 'request.escalated');
    expect(escalated.map((e) => [e.actor, e.data.by, e.data.channel])).toEqual([
      ['user:carol@example.gov', 'approver', 'teams'],
    ]);
    await cardPostedFor(prod.id, 2); // the escalation card

    const decided = await click('approve', prod, AAD.grace);
    expect(textsOf(decided.value)[0]).toBe('Approved');
    expect(verbsOf(decided.value)).toEqual([]);
    // Every posted copy shows the outcome, without buttons.
    const copies = standIn.activities.filter(
      (a) => a.method === 'POST' && textsOf(a.card).some((t) => t.includes(prod.id)),
    );
    await waitFor(
      () =>
        copies.every((copy) => {
          const card = standIn.cardOf(copy.activityId);
          return textsOf(card)[0] === 'Approved' && verbsOf(card).length === 0;
        })
          ? true
          : undefined,
      { what: 'every posted card to show the outcome', timeoutMs: 15_000 },
    );
  });

  it('answers a click after the decision with the decided card and audits it as late', async () => {
    const answer = await click('approve', prod, AAD.carol);
    expect(answer.type).toBe('application/vnd.microsoft.card.adaptive');
    expect(textsOf(answer.value)[0]).toBe('Approved');
    const late = (await events(prod.id)).filter((e) => e.type === 'review.late');
    expect(late.map((e) => [e.actor, e.data.channel, e.data.status])).toEqual([
      ['user:carol@example.gov', 'teams', 'approved'],
    ]);
  });

  it('answers a click after the deadline with the expired card, counting nothing and auditing it as late', async () => {
    const dev = await submit({
      action: {
        name: 'data.export',
        args: { dataset: 'sample', destination: 's3://agency-internal-archive/x/' },
      },
      resource: { type: 'aws:s3:bucket', id: 'arn:aws:s3:::dev-bucket', properties: { environment: 'dev' } },
      context: { justification: 'Refresh the staging sample, CHG-1' },
    });
    await cardPostedFor(dev.id);
    await waitFor(
      async () => ((await events(dev.id)).some((e) => e.type === 'request.expired') ? true : undefined),
      { what: 'the request to expire', timeoutMs: 20_000, intervalMs: 200 },
    );
    const answer = await click('approve', dev, AAD.bob);
    expect(textsOf(answer.value)[0]).toBe('Expired without a decision');
    const trail = await events(dev.id);
    expect(trail.filter((e) => e.type === 'review.recorded')).toHaveLength(0);
    expect(trail.filter((e) => e.type === 'review.late').map((e) => e.actor)).toEqual([
      'user:bob@example.gov',
    ]);
  });

  it('answers an authenticated body that is no activity or not strict JSON with 400, and an unknown card action with an invoke error', async () => {
    // The token matches the body's serviceUrl, but the body has no activity type.
    const response = await post({ serviceUrl, channelId: 'msteams' }, await goodToken());
    expect(response.status).toBe(400);
    expect(((await response.json()) as { message: string }).message).toMatch(/not a Bot Framework activity/);
    // Unreadable JSON has no serviceUrl to match the token's claim: not authenticated.
    const garbled = await fetch(`${gateway.url}/v1/integrations/teams/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await goodToken()}`, 'content-type': 'application/json' },
      body: '{"serviceUrl":',
    });
    expect(garbled.status).toBe(401);
    // A duplicate key is refused like everywhere else: the last one would otherwise silently win.
    const duplicated = await fetch(`${gateway.url}/v1/integrations/teams/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await goodToken()}`, 'content-type': 'application/json' },
      body: `{"type":"invoke","channelId":"msteams","serviceUrl":${JSON.stringify(serviceUrl)},"name":"adaptiveCard/action","name":"other"}`,
    });
    expect(duplicated.status).toBe(400);
    expect(((await duplicated.json()) as { message: string }).message).toMatch(/not strict JSON.*name/i);
    const before = (await events(prod.id)).length;
    const answer = await click('delete', prod, AAD.carol);
    expect(answer).toMatchObject({ statusCode: 400, type: 'application/vnd.microsoft.error' });
    expect(JSON.stringify(answer.value)).toMatch(/not an approval card action: action\.verb/);
    expect(await events(prod.id)).toHaveLength(before);
  });

  it('acknowledges other activities once authenticated, and refuses them without a token', async () => {
    const update = {
      type: 'conversationUpdate',
      channelId: 'msteams',
      serviceUrl,
      recipient: { id: `28:${APP_ID}` },
      membersAdded: [{ id: `28:${APP_ID}` }],
      conversation: { id: CONVERSATION },
    };
    expect((await post(update, await goodToken())).status).toBe(200);
    expect((await post(update, undefined)).status).toBe(401);
  });
});
