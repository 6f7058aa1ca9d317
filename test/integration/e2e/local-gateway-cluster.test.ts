/**
 * The local gateway as two processes on one port (config `workers: 2`), started the way `npm start`
 * starts it, over real HTTP on 127.0.0.1. Every call below opens a connection of its own, so the
 * primary hands consecutive calls to alternating workers: what one process did, the other sees.
 */
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROD_CUI_EXPORT } from '../../fixtures/requests.ts';
import { waitFor } from '../../harness/index.ts';
import {
  type GatewayProcess,
  gatewayConfig,
  PRINCIPALS,
  startGatewayProcess,
  type Who,
} from '../../support/gateway-process.ts';
import { buttonClick, SlackStandIn, signedInteraction } from '../../support/slack-stand-in.ts';

const SIGNING_SECRET = `test-signing-${randomBytes(8).toString('hex')}`;
const BOT_TOKEN = 'xoxb-test-0000-standin';
const APP_TOKEN = 'xapp-1-cluster-standin';
const CHANNEL = 'C0APPROVALS';
const MAX_PENDING = 5;

interface View {
  id: string;
  status: string;
  action_hash: string;
}
interface AuditTrail {
  events: { type: string; actor: string }[];
  verification: { ok: boolean };
}

/** One call on a connection of its own (no keep-alive), so the primary picks the next worker. */
function fresh(
  gw: GatewayProcess,
  who: Who | null,
  method: string,
  path: string,
  body?: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: Record<string, unknown>; at: number }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${gw.url}${path}`,
      {
        method,
        agent: false,
        headers: {
          ...(who ? { authorization: `Bearer ${PRINCIPALS[who].token}` } : {}),
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...headers,
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) : {}, at: Date.now() }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** One call on a connection of its own, answering the raw text and the cookies it sets. */
function freshRaw(
  gw: GatewayProcess,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{ status: number; text: string; cookies: string[] }> {
  return new Promise((resolve, reject) => {
    const req = request(`${gw.url}${path}`, { method, agent: false, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          text,
          cookies: (res.headers['set-cookie'] ?? []).map((c) => c.split(';')[0] ?? ''),
        }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

const submission = (i: number) =>
  JSON.stringify({
    ...PROD_CUI_EXPORT,
    context: { justification: `Quarterly reconciliation, CHG-${4800 + i}` },
  });

describe('Local gateway, two processes on one port', () => {
  let slack: SlackStandIn;
  let gw: GatewayProcess;
  const accepted: View[] = [];

  beforeAll(async () => {
    slack = await SlackStandIn.start({ botToken: BOT_TOKEN, appToken: APP_TOKEN });
    const config = gatewayConfig(
      (data) => {
        const profiles = data.approval_profiles as Record<string, Record<string, unknown>>;
        const prod = profiles.data_export_prod;
        if (!prod) throw new Error('the default data has no data_export_prod profile');
        // Long enough for the tests before the restart below, short enough to wait for.
        prod.escalate_after_seconds = 20;
        prod.timeout_seconds = 45;
      },
      'info',
      {
        workers: 2,
        limits: { callsPerMinute: 10_000, submissionsPerMinute: 1_000, maxPending: MAX_PENDING },
        slack: {
          signingSecret: SIGNING_SECRET,
          botToken: BOT_TOKEN,
          appToken: APP_TOKEN,
          apiUrl: slack.url,
          channel: CHANNEL,
        },
      },
    );
    gw = await startGatewayProcess(config, 90_000);
    // The banner comes once the coordinator serves; the other worker joins when it has started.
    await waitFor(async () => /all gateway workers serving/.test(gw.output()) || undefined, {
      what: 'the second worker',
      timeoutMs: 90_000,
    });
  }, 180_000);

  afterAll(async () => {
    await gw?.stop();
    await slack?.close();
  });

  it('says it runs two processes, and which one coordinates', () => {
    expect(gw.output()).toMatch(/workers {3}2 processes on one port: \d+ \(coordinator\), \d+/);
  });

  it("opens one Slack Socket Mode connection, the coordinator's", () => {
    expect(slack.callsOf('apps.connections.open')).toHaveLength(1);
    expect(slack.socketConnections).toBe(1);
  });

  it(`accepts exactly ${MAX_PENDING} of 20 parallel submissions spread over both processes (the pending cap)`, async () => {
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => fresh(gw, 'agent', 'POST', '/v1/action-requests', submission(i))),
    );
    const ok = answers.filter((a) => a.status === 202);
    const refused = answers.filter((a) => a.status !== 202);
    expect(ok).toHaveLength(MAX_PENDING);
    for (const a of refused) {
      expect(a.status).toBe(429);
      expect(a.json).toMatchObject({ error: 'too_many_pending' });
    }
    for (const a of ok) accepted.push(a.json as unknown as View);
  }, 60_000);

  it('wakes long-poll waiters in both processes when either commits the decision', async () => {
    const view = accepted[0];
    if (!view) throw new Error('the cap test accepted nothing');
    const path = `/v1/action-requests/${view.id}`;
    // Six waiters on six connections: the primary hands them to both workers in turn.
    const waiters = Array.from({ length: 6 }, () => fresh(gw, 'agent', 'GET', `${path}?wait=25`));
    // Past the first backstop poll (5 s after each waiter subscribed): a waiter that only the
    // backstop could wake would answer at the next one, about 4 s after the decision below.
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    const vote = JSON.stringify({ decision: 'approve', action_hash: view.action_hash });
    expect((await fresh(gw, 'bob', 'POST', `${path}/decisions`, vote)).status).toBe(200);
    const decided = await fresh(gw, 'carol', 'POST', `${path}/decisions`, vote);
    expect(decided.status).toBe(200);
    for (const answer of await Promise.all(waiters)) {
      expect(answer.json).toMatchObject({ status: 'approved' });
      // Generous, and still well under the gap to the next backstop poll.
      expect(answer.at - decided.at).toBeLessThan(3_000);
    }
  }, 60_000);

  it('refuses a Slack callback replayed to the other process', async () => {
    const view = accepted[1];
    if (!view) throw new Error('the cap test accepted too few');
    const signed = signedInteraction(
      SIGNING_SECRET,
      buttonClick({
        user: 'U0DEMOBOB',
        actionId: 'ala.approve',
        value: `${view.id} ${view.action_hash}`,
        channel: CHANNEL,
        ts: '1700000001.000100',
      }),
    );
    const answers = [];
    // One after the other, each on a connection of its own: they alternate between the workers.
    for (let i = 0; i < 4; i++) {
      answers.push(
        await fresh(gw, null, 'POST', '/v1/integrations/slack/interactions', signed.body, signed.headers),
      );
    }
    expect(answers[0]?.status).toBe(200);
    for (const replay of answers.slice(1)) {
      expect(replay.status).toBe(401);
      expect(replay.json).toMatchObject({ error: 'replayed_request' });
    }
    const trail = (await fresh(gw, 'agent', 'GET', `/v1/action-requests/${view.id}/audit`))
      .json as unknown as AuditTrail;
    expect(trail.events.filter((e) => e.type === 'review.recorded')).toHaveLength(1);
  }, 60_000);

  it('keeps a review page session made on one process valid on the other (one cookie key)', async () => {
    const login = await freshRaw(gw, 'GET', '/review/auth/login', {});
    const csrf = /name="csrf" value="([^"]+)"/.exec(login.text)?.[1];
    expect(csrf).toBeDefined();
    const form = new URLSearchParams({ csrf: csrf ?? '', return_to: '/review', token: PRINCIPALS.bob.token });
    const signedIn = await freshRaw(
      gw,
      'POST',
      '/review/auth/demo',
      { cookie: login.cookies.join('; '), 'content-type': 'application/x-www-form-urlencoded' },
      form.toString(),
    );
    expect(signedIn.status).toBe(303);
    const session = signedIn.cookies.join('; ');
    // Four calls on four connections: both workers open the cookie the first one sealed.
    for (let i = 0; i < 4; i++) {
      const page = await freshRaw(gw, 'GET', '/review', { cookie: session });
      expect(page.status).toBe(200);
      expect(page.text).toContain(PRINCIPALS.bob.id);
    }
  }, 60_000);

  it('escalates and expires each request once, across a coordinator killed and replaced', async () => {
    const coordinator = Number(/(\d+) \(coordinator\)/.exec(gw.output())?.[1]);
    expect(coordinator).toBeGreaterThan(0);
    process.kill(coordinator, 'SIGKILL');
    await waitFor(async () => /gateway worker replaced/.test(gw.output()) || undefined, {
      what: 'the replacement worker',
      timeoutMs: 60_000,
    });
    expect(gw.output()).toMatch(/gateway worker exited; starting a replacement/);
    // The replacement coordinator connects Socket Mode again; still one connection.
    await waitFor(async () => slack.callsOf('apps.connections.open').length === 2 || undefined, {
      what: 'the replacement Socket Mode connection',
      timeoutMs: 30_000,
    });
    await waitFor(async () => slack.socketConnections === 1 || undefined, {
      what: `one Socket Mode connection (open: ${slack.socketConnections})`,
      timeoutMs: 30_000,
    });
    for (const view of accepted.slice(2)) {
      let ended = await fresh(gw, 'agent', 'GET', `/v1/action-requests/${view.id}?wait=25`);
      // A long-poll answers on any change (the escalation, too) or after 25 s: ask until it ends.
      for (let i = 0; i < 6 && ended.json.status === 'pending'; i++) {
        ended = await fresh(gw, 'agent', 'GET', `/v1/action-requests/${view.id}?wait=25`);
      }
      expect(ended.json).toMatchObject({ status: 'expired' });
      const trail = (await fresh(gw, 'agent', 'GET', `/v1/action-requests/${view.id}/audit`))
        .json as unknown as AuditTrail;
      expect(trail.verification.ok).toBe(true);
      const types = trail.events.map((e) => e.type);
      expect(types.filter((t) => t === 'request.escalated')).toHaveLength(1);
      expect(types.filter((t) => t === 'request.expired')).toHaveLength(1);
    }
  }, 150_000);

  it('stops every process on SIGTERM', async () => {
    const line = /workers {3}2 processes on one port: (.*)/.exec(gw.output())?.[1] ?? '';
    const pids = [...line.matchAll(/\d+/g)].map((m) => Number(m[0]));
    expect(pids).toHaveLength(2);
    expect(await gw.stop('SIGTERM')).toBe(0);
    const replaced = [...gw.output().matchAll(/"pid":(\d+)/g)].map((m) => Number(m[1]));
    for (const pid of [...pids, ...replaced]) {
      expect(() => process.kill(pid, 0), `process ${pid}`).toThrow();
    }
  }, 60_000);
});
