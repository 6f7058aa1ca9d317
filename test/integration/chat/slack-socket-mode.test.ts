/**
 * Socket Mode: with an app-level token the local gateway opens a WebSocket to Slack (here the
 * stand-in's, reached through apps.connections.open) and takes clicks over it, with no public URL;
 * the answer travels in the envelope's acknowledgement.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../functions/local/config.ts';
import { type RunningGateway, startGateway } from '../../../functions/local/gateway.ts';
import { loadPolicyEvaluatorFromFiles } from '../../../functions/policy/files.ts';
import { PROD_CUI_EXPORT } from '../../fixtures/requests.ts';
import { buttonClick, modalSubmission, SlackStandIn } from '../../support/slack-stand-in.ts';

const BOT_TOKEN = 'xoxb-socket-standin';
const APP_TOKEN = 'xapp-1-socket-standin';
const AGENT_TOKEN = `agent-${randomBytes(12).toString('hex')}`;

describe('Slack Socket Mode, local gateway', () => {
  let slack: SlackStandIn;
  let gateway: RunningGateway;
  let dir: string;

  beforeAll(async () => {
    slack = await SlackStandIn.start({ botToken: BOT_TOKEN, appToken: APP_TOKEN });
    dir = mkdtempSync(join(tmpdir(), 'ala-socket-'));
    writeFileSync(
      join(dir, 'gateway.json'),
      JSON.stringify({
        port: 0,
        dataDir: join(dir, 'data'),
        principals: [{ token: AGENT_TOKEN, id: 'agent:demo-exporter' }],
        slack: {
          signingSecret: 'socket-mode-signing-secret',
          botToken: BOT_TOKEN,
          appToken: APP_TOKEN,
          apiUrl: slack.url,
          channel: 'C0SOCKET',
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

  it('connects with the app token at start and counts a click that arrives over the socket', async () => {
    expect(slack.callsOf('apps.connections.open')).toHaveLength(1);
    expect(slack.callsOf('apps.connections.open')[0]?.token).toBe(APP_TOKEN);
    expect(slack.socketConnections).toBe(1);

    const response = await fetch(`${gateway.url}/v1/action-requests`, {
      method: 'POST',
      headers: { authorization: `Bearer ${AGENT_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(PROD_CUI_EXPORT),
    });
    const view = (await response.json()) as { id: string; action_hash: string };
    const card = await slack.waitForCall('chat.postMessage', (call) =>
      String(call.args.text).includes(view.id),
    );

    const ack = await slack.sendInteractive(
      buttonClick({
        user: 'U0DEMOBOB',
        actionId: 'ala.approve',
        value: `${view.id} ${view.action_hash}`,
        channel: 'C0SOCKET',
        ts: String(card.args.ts),
      }),
    );
    // A click needs no answer: the acknowledgement is empty.
    expect(ack ?? {}).toEqual({});
    const request = await gateway.service.get(view.id, 'user:audrey@example.gov');
    expect(request.approval?.votes).toMatchObject([{ approver: 'user:bob@example.gov', channel: 'slack' }]);

    // A form answer travels in the acknowledgement.
    const refused = await slack.sendInteractive(
      modalSubmission({
        user: 'U0DEMOCAROL',
        privateMetadata: JSON.stringify({ requestId: view.id, actionHash: view.action_hash }),
        comment: '',
      }),
    );
    expect(refused).toMatchObject({
      response_action: 'errors',
      errors: { 'ala.reject.comment': /needs a comment/ },
    });
    expect(slack.violations).toEqual([]);
  });
});
