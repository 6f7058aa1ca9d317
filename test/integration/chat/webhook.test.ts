/**
 * The signed generic webhook against the real local gateway and a real receiver on 127.0.0.1 that
 * verifies each delivery as docs/chat.md tells subscribers to: HMAC-SHA256 over
 * "<timestamp>.<raw body>", constant-time comparison. A failing Slack never keeps the webhook
 * from its card, and a failing webhook never keeps Slack from its card.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../../cdk/paths.ts';
import { loadConfig } from '../../../functions/local/config.ts';
import { type RunningGateway, startGateway } from '../../../functions/local/gateway.ts';
import { loadPolicyEvaluatorFromFiles } from '../../../functions/policy/files.ts';
import { PROD_CUI_EXPORT } from '../../fixtures/requests.ts';
import { waitFor } from '../../harness/index.ts';
import { SlackStandIn } from '../../support/slack-stand-in.ts';

const SECRET = randomBytes(32).toString('hex');
const AGENT_TOKEN = `agent-${randomBytes(12).toString('hex')}`;
const BOT_TOKEN = 'xoxb-webhook-test';

interface Delivery {
  readonly verified: boolean;
  readonly id: string;
  readonly body: {
    type: string;
    stage?: string;
    card: { requestId: string; status: string; approvalsReceived: number };
  };
}

describe('Signed webhook, local gateway', () => {
  let receiver: Server;
  let url: string;
  let failNext = 0;
  const deliveries: Delivery[] = [];
  const refused: string[] = [];
  let slack: SlackStandIn;
  let gateway: RunningGateway;
  let dir: string;

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        if (failNext > 0) {
          failNext--;
          refused.push(JSON.parse(raw).card.requestId);
          res.writeHead(503).end();
          return;
        }
        const timestamp = String(req.headers['ala-webhook-timestamp']);
        const expected = Buffer.from(
          `v1=${createHmac('sha256', SECRET).update(`${timestamp}.${raw}`).digest('hex')}`,
        );
        const got = Buffer.from(String(req.headers['ala-webhook-signature']));
        const fresh = Math.abs(Date.now() / 1000 - Number(timestamp)) <= 300;
        const verified = fresh && got.length === expected.length && timingSafeEqual(got, expected);
        deliveries.push({ verified, id: String(req.headers['ala-webhook-id']), body: JSON.parse(raw) });
        res.writeHead(204).end();
      });
    });
    receiver.listen(0, '127.0.0.1');
    await once(receiver, 'listening');
    url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/approvals`;
    slack = await SlackStandIn.start({ botToken: BOT_TOKEN });
    dir = mkdtempSync(join(tmpdir(), 'ala-webhook-'));
    // The policy's approval.channels picks the notifiers: the default pack names slack, teams, api.
    const data = JSON.parse(readFileSync(join(REPO_ROOT, 'policies/build/data.json'), 'utf8'));
    data.approval_channels = ['slack', 'webhook', 'api'];
    writeFileSync(join(dir, 'data.json'), JSON.stringify(data));
    writeFileSync(
      join(dir, 'gateway.json'),
      JSON.stringify({
        port: 0,
        dataDir: join(dir, 'data'),
        policy: { wasm: join(REPO_ROOT, 'policies/build/policy.wasm'), data: join(dir, 'data.json') },
        principals: [{ token: AGENT_TOKEN, id: 'agent:demo-exporter' }],
        slack: {
          signingSecret: 'webhook-test-signing-secret',
          botToken: BOT_TOKEN,
          apiUrl: slack.url,
          channel: 'C0HOOKS',
        },
        webhook: { url, secret: SECRET },
      }),
    );
    const { config } = loadConfig(join(dir, 'gateway.json'));
    const quiet = { debug() {}, info() {}, warn() {}, error() {} };
    gateway = await startGateway(config, await loadPolicyEvaluatorFromFiles(config.policy), quiet);
  });

  afterAll(async () => {
    await gateway?.close();
    await slack?.close();
    receiver?.closeAllConnections();
    receiver?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const submit = async () => {
    const response = await fetch(`${gateway.url}/v1/action-requests`, {
      method: 'POST',
      headers: { authorization: `Bearer ${AGENT_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(PROD_CUI_EXPORT),
    });
    expect(response.status).toBe(202);
    return (await response.json()) as { id: string; action_hash: string };
  };

  it('delivers a signed card a receiver can verify, then a signed update after every vote; Slack down changes nothing for it', async () => {
    slack.failNext('chat.postMessage', 'channel_not_found');
    const view = await submit();
    const first = await waitFor(() => deliveries.find((d) => d.body.card.requestId === view.id), {
      what: 'the webhook delivery',
    });
    expect(first).toMatchObject({
      verified: true,
      body: { type: 'approval.requested', stage: 'notify', card: { status: 'pending' } },
    });
    expect(first.id).toMatch(/^[0-9a-f-]{36}$/);
    const sent = await waitFor(
      async () => {
        const events = (await gateway.service.audit(view.id, 'user:audrey@example.gov')).events;
        const found = events.filter((e) => e.type === 'notification.sent');
        return found.length > 0 ? found : undefined;
      },
      { what: 'notification.sent' },
    );
    // Slack failed, so only the webhook is recorded (by host, with the URL kept for updates).
    expect(sent.map((e) => e.data.channel)).toEqual(['webhook']);
    expect(sent[0]?.data.recipients).toEqual([new URL(url).host]);

    await gateway.service.review(view.id, 'user:bob@example.gov', {
      decision: 'approve',
      actionHash: view.action_hash,
      channel: 'api',
    });
    const update = await waitFor(
      () => deliveries.find((d) => d.body.card.requestId === view.id && d.body.type === 'approval.updated'),
      { what: 'the update delivery' },
    );
    expect(update).toMatchObject({ verified: true, body: { card: { approvalsReceived: 1 } } });
  });

  it('a webhook that fails does not keep Slack from its card', async () => {
    failNext = 1;
    const view = await submit();
    await slack.waitForCall('chat.postMessage', (call) => String(call.args.text).includes(view.id));
    await waitFor(() => (refused.includes(view.id) ? true : undefined), { what: 'the refused delivery' });
    const events = await waitFor(
      async () => {
        const all = (await gateway.service.audit(view.id, 'user:audrey@example.gov')).events;
        const found = all.filter((e) => e.type === 'notification.sent');
        return found.length > 0 ? found : undefined;
      },
      { what: 'notification.sent' },
    );
    expect(events.map((e) => e.data.channel)).toEqual(['slack']);
    expect(deliveries.some((d) => d.body.card.requestId === view.id)).toBe(false);
  });
});
