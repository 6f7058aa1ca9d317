/**
 * Approvals in Slack against the real local gateway (SQLite, the committed policy bundle with its
 * data adapted below) and a local stand-in for the Slack Web API that checks every payload against
 * Slack's limits. Callbacks are signed exactly as Slack signs them.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../../cdk/paths.ts';
import type { AuditEvent } from '../../../functions/core/model.ts';
import { loadConfig } from '../../../functions/local/config.ts';
import { type RunningGateway, startGateway } from '../../../functions/local/gateway.ts';
import { loadPolicyEvaluatorFromFiles } from '../../../functions/policy/files.ts';
import { PROD_CUI_EXPORT } from '../../fixtures/requests.ts';
import { waitFor } from '../../harness/index.ts';
import {
  buttonClick,
  modalSubmission,
  type SlackCall,
  SlackStandIn,
  signedInteraction,
} from '../../support/slack-stand-in.ts';

const SIGNING_SECRET = `test-signing-${randomBytes(8).toString('hex')}`;
const BOT_TOKEN = 'xoxb-test-0000-standin';
const CHANNEL = 'C0APPROVALS';
const LEADS_CHANNEL = 'C0LEADS';
const AGENT_TOKEN = `agent-${randomBytes(12).toString('hex')}`;
const HOSTILE = '<!channel> *APPROVED by security* <https://evil.example|click>';

/** The default pack's data, plus a Slack user bound to the agent itself and a route for the leads. */
function adaptedData(): unknown {
  const data = JSON.parse(readFileSync(join(REPO_ROOT, 'policies/build/data.json'), 'utf8'));
  data.identities.slack.U0AGENT = 'agent:demo-exporter';
  data.notifications = { slack: { 'data-owner-leads': LEADS_CHANNEL } };
  // Non-production exports expire in two seconds: a click after the deadline, without a fake clock.
  data.approval_profiles.data_export_nonprod.timeout_seconds = 2;
  return data;
}

interface View {
  id: string;
  status: string;
  action_hash: string;
  approval?: { received: number };
}

describe('Slack approvals, local gateway', () => {
  let slack: SlackStandIn;
  let gateway: RunningGateway;
  let dir: string;

  beforeAll(async () => {
    slack = await SlackStandIn.start({ botToken: BOT_TOKEN });
    dir = mkdtempSync(join(tmpdir(), 'ala-slack-'));
    writeFileSync(join(dir, 'data.json'), JSON.stringify(adaptedData()));
    writeFileSync(
      join(dir, 'gateway.json'),
      JSON.stringify({
        port: 0,
        dataDir: join(dir, 'data'),
        policy: { wasm: join(REPO_ROOT, 'policies/build/policy.wasm'), data: join(dir, 'data.json') },
        principals: [{ token: AGENT_TOKEN, id: 'agent:demo-exporter' }],
        slack: {
          signingSecret: SIGNING_SECRET,
          botToken: BOT_TOKEN,
          apiUrl: slack.url,
          channel: CHANNEL,
          teamId: 'T0STANDIN',
        },
      }),
    );
    const { config } = loadConfig(join(dir, 'gateway.json'));
    const quiet = { debug() {}, info() {}, warn() {}, error() {} };
    gateway = await startGateway(config, await loadPolicyEvaluatorFromFiles(config.policy), quiet);
  });

  afterAll(async () => {
    await gateway?.close();
    await slack?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function submit(body: unknown): Promise<View> {
    const response = await fetch(`${gateway.url}/v1/action-requests`, {
      method: 'POST',
      headers: { authorization: `Bearer ${AGENT_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const view = (await response.json()) as View;
    expect(response.status, JSON.stringify(view)).toBe(202);
    return view;
  }

  async function posted(requestId: string, channel = CHANNEL): Promise<SlackCall> {
    return slack.waitForCall(
      'chat.postMessage',
      (call) => call.args.channel === channel && String(call.args.text).includes(requestId),
    );
  }

  function post(signed: { headers: Record<string, string>; body: string }): Promise<Response> {
    return fetch(`${gateway.url}/v1/integrations/slack/interactions`, {
      method: 'POST',
      headers: signed.headers,
      body: signed.body,
    });
  }

  function click(user: string, action: 'approve' | 'reject' | 'escalate', view: View, options = {}) {
    return signedInteraction(
      SIGNING_SECRET,
      buttonClick({
        user,
        actionId: `ala.${action}`,
        value: `${view.id} ${view.action_hash}`,
        channel: CHANNEL,
        ts: '1700000001.000100',
      }),
      options,
    );
  }

  const ephemeralTo = (user: string, pattern: RegExp) =>
    slack.waitForCall(
      'chat.postEphemeral',
      (call) => call.args.user === user && pattern.test(String(call.args.text)),
    );

  const events = async (id: string): Promise<AuditEvent[]> =>
    (await gateway.service.audit(id, 'user:audrey@example.gov')).events as AuditEvent[];

  const votes = async (id: string) =>
    (await gateway.service.get(id, 'user:audrey@example.gov')).approval?.votes ?? [];

  it('posts an inert card, counts a valid click, refuses every bad one, and updates the card', async () => {
    const view = await submit({
      ...PROD_CUI_EXPORT,
      context: { justification: HOSTILE, on_behalf_of: 'user:alice@example.gov' },
    });
    const card = await posted(view.id);
    expect(JSON.stringify(card.args.blocks)).not.toContain('<!channel>');
    expect(JSON.stringify(card.args.blocks)).toContain('&lt;!channel&gt; *APPROVED by security*');
    // Recorded right after the post returns.
    const sent = await waitFor(
      async () => (await events(view.id)).find((e) => e.type === 'notification.sent'),
      {
        what: 'the notification.sent event',
      },
    );
    expect(sent?.data).toMatchObject({ channel: 'slack', recipients: [CHANNEL] });
    const reference = String(sent?.data.reference);
    expect(reference).toMatch(new RegExp(`^${CHANNEL}/\\d+\\.\\d+$`));

    // Forged, stale and unsigned callbacks are refused before anything is read.
    const forged = click('U0DEMOBOB', 'approve', view);
    forged.headers['x-slack-signature'] = `v0=${'0'.repeat(64)}`;
    const forgedAnswer = await post(forged);
    expect(forgedAnswer.status).toBe(401);
    expect(await forgedAnswer.json()).toMatchObject({
      error: 'invalid_signature',
      message: /does not match/,
    });
    const stale = await post(
      click('U0DEMOBOB', 'approve', view, { timestamp: Math.floor(Date.now() / 1000) - 600 }),
    );
    expect(stale.status).toBe(401);
    expect(await stale.json()).toMatchObject({
      error: 'invalid_signature',
      message: /from the gateway's clock/,
    });
    expect(await votes(view.id)).toEqual([]);

    // Bob, bound through identities.slack, approves: counted, on the slack channel; the card follows.
    const valid = click('U0DEMOBOB', 'approve', view);
    const started = performance.now();
    const answer = await post(valid);
    expect(answer.status).toBe(200);
    expect(performance.now() - started).toBeLessThan(3000);
    expect(await votes(view.id)).toMatchObject([
      { approver: 'user:bob@example.gov', decision: 'approve', channel: 'slack' },
    ]);
    const [channel, ts] = reference.split('/');
    const updated = await slack.waitForCall(
      'chat.update',
      (call) =>
        call.args.ts === ts && JSON.stringify(call.args.blocks).includes('Approved by user:bob@example.gov'),
    );
    expect(updated.args.channel).toBe(channel);
    expect(JSON.stringify(updated.args.blocks)).toContain('Approvals: 1 of 2');

    // Slack sends the whole message with a click: a card-sized body over the API's 64 KiB is read.
    const big = signedInteraction(
      SIGNING_SECRET,
      buttonClick({
        user: 'U0DEMOBOB',
        actionId: 'ala.approve',
        value: `${view.id} ${view.action_hash}`,
        channel: CHANNEL,
        ts: ts ?? '',
        blocks: updated.args.blocks,
      }),
    );
    const padded = { ...big, body: `${big.body}&${'x'.repeat(100 * 1024)}=1` };
    padded.headers['x-slack-signature'] = resign(
      padded.body,
      padded.headers['x-slack-request-timestamp'] as string,
    );
    expect((await post(padded)).status).toBe(200);

    // The same signed request again is a replay.
    const replay = await post(valid);
    expect(replay.status).toBe(401);
    expect(await replay.json()).toMatchObject({ error: 'replayed_request' });

    // A double click and a Slack retry (new signatures) are harmless: still one vote.
    expect((await post(click('U0DEMOBOB', 'approve', view))).status).toBe(200);
    await ephemeralTo('U0DEMOBOB', /approved .* already; nothing changed/);
    expect((await post(click('U0DEMOBOB', 'approve', view, { retry: 1 }))).status).toBe(200);
    expect(await votes(view.id)).toHaveLength(1);
    // Changing his mind is the core's 409, told to him alone.
    const mind = modalSubmission({
      user: 'U0DEMOBOB',
      privateMetadata: JSON.stringify({ requestId: view.id, actionHash: view.action_hash }),
      comment: 'on second thought',
    });
    const changed = await post(signedInteraction(SIGNING_SECRET, mind));
    expect(changed.status).toBe(200);
    expect(await changed.json()).toMatchObject({
      response_action: 'errors',
      errors: { 'ala.reject.comment': /Not recorded: .*already/ },
    });

    // Unbound, the requester, the declared human, a non-member: each told why, none counted.
    for (const [user, why] of [
      ['U0NOBODY', /U0NOBODY is not bound to a gateway principal.*identities\.slack/],
      ['U0AGENT', /Not recorded: the requester cannot approve its own request/],
      ['U0DEMOALICE', /Not recorded: .*alice@example.gov .*(acts for|owns)/],
      ['U0DEMODAVE', /is not a request user:dave@example.gov may review/],
    ] as const) {
      expect((await post(click(user, 'approve', view))).status).toBe(200);
      await ephemeralTo(user, why);
    }
    expect(await votes(view.id)).toHaveLength(1);
    expect(slack.violations).toEqual([]);
  });

  it('Reject opens a modal; the submission needs a comment; the card loses its buttons', async () => {
    const view = await submit(PROD_CUI_EXPORT);
    await posted(view.id);
    const opened = slack.callsOf('views.open').length;
    expect((await post(click('U0DEMOCAROL', 'reject', view))).status).toBe(200);
    const modal = await slack.waitForCall('views.open', (call) =>
      String((call.args.view as { private_metadata?: string }).private_metadata).includes(view.id),
    );
    expect(slack.callsOf('views.open').length).toBe(opened + 1);
    expect(String(modal.args.trigger_id)).toMatch(/^trigger\.U0DEMOCAROL\./);
    const metadata = String((modal.args.view as { private_metadata: string }).private_metadata);

    const empty = await post(
      signedInteraction(
        SIGNING_SECRET,
        modalSubmission({ user: 'U0DEMOCAROL', privateMetadata: metadata, comment: '  ' }),
      ),
    );
    expect(await empty.json()).toMatchObject({
      response_action: 'errors',
      errors: { 'ala.reject.comment': /needs a comment/ },
    });
    expect((await gateway.service.get(view.id, 'user:audrey@example.gov')).status).toBe('pending');

    const submitted = await post(
      signedInteraction(
        SIGNING_SECRET,
        modalSubmission({ user: 'U0DEMOCAROL', privateMetadata: metadata, comment: 'not in CHG-4821' }),
      ),
    );
    expect(submitted.status).toBe(200);
    expect(await submitted.text()).toBe('');
    expect((await gateway.service.get(view.id, 'user:audrey@example.gov')).status).toBe('rejected');
    const final = await slack.waitForCall('chat.update', (call) =>
      JSON.stringify(call.args.blocks).includes('Rejected by user:carol@example.gov'),
    );
    expect(JSON.stringify(final.args.blocks)).not.toContain('"actions"');
    expect(JSON.stringify(final.args.blocks)).toContain('not in CHG-4821');

    // A click on the decided request is told so, and audited as late.
    expect((await post(click('U0DEMOBOB', 'approve', view))).status).toBe(200);
    await ephemeralTo('U0DEMOBOB', /is rejected; votes are no longer accepted/);
    expect((await events(view.id)).filter((e) => e.type === 'review.late')).toMatchObject([
      { actor: 'user:bob@example.gov', data: { channel: 'slack', status: 'rejected' } },
    ]);
    expect(slack.violations).toEqual([]);
  });

  it('ignores a click from another workspace of the same app: nothing recorded, nobody there told', async () => {
    const view = await submit(PROD_CUI_EXPORT);
    await posted(view.id);
    const foreign = {
      ...(buttonClick({
        user: 'U0DEMOBOB',
        actionId: 'ala.approve',
        value: `${view.id} ${view.action_hash}`,
        channel: CHANNEL,
        ts: '1700000001.000100',
      }) as Record<string, unknown>),
      user: { id: 'U0DEMOBOB', team_id: 'T0ELSEWHERE' },
      team: { id: 'T0ELSEWHERE' },
    };
    const toBob = () =>
      slack.calls.filter((c) => c.method === 'chat.postEphemeral' && c.args.user === 'U0DEMOBOB');
    const toldBefore = toBob().length;
    const answer = await post(signedInteraction(SIGNING_SECRET, foreign));
    expect(answer.status).toBe(200);
    expect(await answer.text()).toBe('');
    expect(await votes(view.id)).toEqual([]);
    expect(toBob()).toHaveLength(toldBefore);
    // The same click from the configured workspace counts.
    expect((await post(click('U0DEMOBOB', 'approve', view))).status).toBe(200);
    expect(await votes(view.id)).toMatchObject([{ approver: 'user:bob@example.gov', channel: 'slack' }]);
  });

  it('Escalate hands the request to the leads now, audited as by the approver, and tells their channel', async () => {
    const view = await submit(PROD_CUI_EXPORT);
    await posted(view.id);
    expect((await post(click('U0DEMOBOB', 'escalate', view))).status).toBe(200);
    const escalated = (await events(view.id)).find((e) => e.type === 'request.escalated');
    expect(escalated).toMatchObject({
      actor: 'user:bob@example.gov',
      data: { by: 'approver', channel: 'slack' },
    });
    // Routed by policy data to the leads' channel; the lead may now vote from it.
    const leadsCard = await posted(view.id, LEADS_CHANNEL);
    expect(JSON.stringify(leadsCard.args.blocks)).toContain('Escalated to data-owner-leads');
    expect((await post(click('U0DEMOCAROL', 'escalate', view))).status).toBe(200);
    await ephemeralTo('U0DEMOCAROL', /escalated already; nothing changed/);
    expect((await events(view.id)).filter((e) => e.type === 'request.escalated')).toHaveLength(1);
    expect((await post(click('U0DEMOGRACE', 'approve', view))).status).toBe(200);
    expect(await votes(view.id)).toMatchObject([{ approver: 'user:grace@example.gov', channel: 'slack' }]);
  });

  it('a click after the deadline is refused and audited as late; the card shows the expiry', async () => {
    const view = await submit({
      action: {
        name: 'data.export',
        args: { dataset: 'sample', destination: 's3://agency-internal-archive/x/' },
      },
      resource: { type: 'aws:s3:bucket', id: 'arn:aws:s3:::dev-bucket', properties: { environment: 'dev' } },
      context: { justification: 'Refresh the staging sample, CHG-1' },
    });
    const card = await posted(view.id);
    await waitFor(
      async () =>
        (await gateway.service.get(view.id, 'user:audrey@example.gov')).status === 'expired'
          ? true
          : undefined,
      { what: 'the two-second deadline', timeoutMs: 15_000 },
    );
    await slack.waitForCall(
      'chat.update',
      (call) =>
        call.args.channel === card.args.channel &&
        JSON.stringify(call.args.blocks).includes('Expired: data.export'),
    );
    expect((await post(click('U0DEMOBOB', 'approve', view))).status).toBe(200);
    await ephemeralTo('U0DEMOBOB', /is expired; votes are no longer accepted/);
    expect((await events(view.id)).filter((e) => e.type === 'review.late')).toHaveLength(1);
  });

  it('refuses what is not a Slack callback: unsigned, wrong media type, no payload, a payload that is not an interaction', async () => {
    const unsigned = await fetch(`${gateway.url}/v1/integrations/slack/interactions`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'payload=%7B%7D',
    });
    expect(unsigned.status).toBe(401);
    const now = String(Math.floor(Date.now() / 1000));
    const wrongType = await fetch(`${gateway.url}/v1/integrations/slack/interactions`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-slack-request-timestamp': now,
        'x-slack-signature': resign('{}', now),
      },
      body: '{}',
    });
    expect(wrongType.status).toBe(415);
    const signed = (body: string) => {
      const timestamp = String(Math.floor(Date.now() / 1000));
      return {
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'x-slack-request-timestamp': timestamp,
          'x-slack-signature': resign(body, timestamp),
        },
        body,
      };
    };
    const noPayload = await post(signed('nothing=here'));
    expect(noPayload.status).toBe(400);
    expect(await noPayload.json()).toMatchObject({ error: 'invalid_request', message: /no payload field/ });
    const notInteraction = await post(signed(`payload=${encodeURIComponent('[1,2]')}`));
    expect(notInteraction.status).toBe(400);
    expect(await notInteraction.json()).toMatchObject({ message: /not a Slack interaction/ });
  });
});

function resign(body: string, timestamp: string): string {
  // The exact computation Slack documents, independent of the gateway's verifier.
  return `v0=${createHmac('sha256', SIGNING_SECRET).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}
