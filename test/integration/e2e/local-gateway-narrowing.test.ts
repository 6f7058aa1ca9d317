// Approving narrower on the local gateway as `npm start` runs it (SQLite, the default policy pack,
// credentials.sts against moto): widenings are refused and change nothing, a vote on other terms
// does not count, and the redeemed session is scoped to the narrowed terms only. The STS calls go
// through a recorder on 127.0.0.1 in front of moto (moto does not keep session policies), so the
// test reads the session policy exactly as the gateway sent it.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROD_CUI_EXPORT } from '../../fixtures/requests.ts';
import { MOTO_ACCOUNT_ID, motoEndpoint } from '../../harness/index.ts';
import { type GatewayProcess, gatewayConfig, startGatewayProcess } from '../../support/gateway-process.ts';

interface Terms {
  actions: string[];
  resources: string[];
  window_seconds: number;
  terms_hash: string;
}
interface View {
  id: string;
  status: string;
  action_hash: string;
  grant?: { actions?: string[]; resources?: string[]; window_seconds?: number };
  narrowed?: { terms: Terms; asked: { resources?: string[]; window_seconds?: number } };
  approval?: { votes: { approver: string; terms?: Terms }[] };
  agent_message: string;
  vote?: { terms?: Terms; recorded: boolean };
}
interface Trail {
  events: { type: string; data: Record<string, unknown> }[];
}

const ASKED = 'arn:aws-us-gov:s3:::fin-ledger-prod/ledger_2026q2/*';
const ONE_FILE = 'arn:aws-us-gov:s3:::fin-ledger-prod/ledger_2026q2/report.csv';

/** Forwards every request to moto and keeps the form bodies (the STS query protocol). */
async function recordingProxy(
  target: string,
): Promise<{ url: string; bodies: URLSearchParams[]; server: Server }> {
  const bodies: URLSearchParams[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      bodies.push(new URLSearchParams(body.toString('utf8')));
      const headers = Object.fromEntries(
        Object.entries(req.headers).filter((e): e is [string, string] => typeof e[1] === 'string'),
      );
      fetch(`${target}${req.url ?? '/'}`, { method: req.method ?? 'POST', headers, body })
        .then(async (answer) => {
          res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'text/xml' });
          res.end(Buffer.from(await answer.arrayBuffer()));
        })
        .catch((error: unknown) => {
          res.writeHead(502);
          res.end(String(error));
        });
    });
  });
  await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, bodies, server };
}

describe('Local gateway: approving narrower', () => {
  let gw: GatewayProcess;
  let proxy: Awaited<ReturnType<typeof recordingProxy>>;

  beforeAll(async () => {
    proxy = await recordingProxy(motoEndpoint());
    const config = gatewayConfig(
      (data) => {
        // A third data owner, so two narrowings can be voted on before either reaches the quorum of 2.
        const groups = data.groups as Record<string, string[]>;
        groups['data-owners']?.push('user:grace@example.gov');
      },
      'warn',
      {
        credentials: {
          sts: {
            partition: 'aws-us-gov',
            accountId: MOTO_ACCOUNT_ID,
            region: 'us-gov-west-1',
            allowedRoles: ['approved-data-export'],
            endpoint: proxy.url,
          },
        },
      },
    );
    gw = await startGatewayProcess(config);
  }, 60_000);

  afterAll(async () => {
    await gw?.stop();
    await new Promise((done) => proxy?.server.close(done));
  });

  it('refuses widenings with a 400 naming the term, grants only the narrowed terms, and ignores votes on other terms', async () => {
    const submitted = (await (
      await gw.call('agent', 'POST', '/v1/action-requests', PROD_CUI_EXPORT)
    ).json()) as View;
    expect(submitted.status).toBe('pending');
    expect(submitted.grant?.resources).toEqual([ASKED]);
    const path = `/v1/action-requests/${submitted.id}`;
    const approve = (narrow_to?: unknown) => ({
      decision: 'approve',
      action_hash: submitted.action_hash,
      ...(narrow_to ? { narrow_to } : {}),
    });
    const trailLength = async () =>
      ((await (await gw.call('agent', 'GET', `${path}/audit`)).json()) as Trail).events.length;
    const before = await trailLength();

    const widenings: [unknown, RegExp][] = [
      [{ actions: ['s3:GetObject', 's3:PutObject'] }, /action "s3:PutObject" was not asked for/],
      [
        { resources: ['arn:aws-us-gov:s3:::fin-ledger-prod/other/*'] },
        /resource ".*other\/\*" was not asked for/,
      ],
      [{ resources: ['arn:aws-us-gov:s3:::fin-ledger-prod/*'] }, /was not asked for \(a wildcard/],
      [{ resources: [`${ONE_FILE.slice(0, -4)}*`] }, /was not asked for \(a wildcard/],
      [{ window_seconds: 301 }, /window_seconds 301 is not within what was asked/],
      [{ actions: [] }, /at least one action/],
      [{ window_seconds: 60, role: 'admin' }, /role/],
    ];
    for (const [narrowTo, message] of widenings) {
      const refused = await gw.call('bob', 'POST', `${path}/decisions`, approve(narrowTo));
      expect(refused.status, JSON.stringify(narrowTo)).toBe(400);
      expect(((await refused.json()) as { message: string }).message).toMatch(message);
    }
    const untouched = (await (await gw.call('bob', 'GET', path)).json()) as View;
    expect(untouched.status).toBe('pending');
    expect(untouched.approval?.votes).toEqual([]);
    expect(await trailLength()).toBe(before);

    // Bob approves one file for two minutes; Carol approves other terms; neither reaches the quorum.
    const narrowTo = { resources: [ONE_FILE], window_seconds: 120 };
    const bob = (await (await gw.call('bob', 'POST', `${path}/decisions`, approve(narrowTo))).json()) as View;
    expect(bob.status).toBe('pending');
    expect(bob.vote?.terms).toMatchObject({
      actions: ['s3:GetObject'],
      resources: [ONE_FILE],
      window_seconds: 120,
    });
    const carol = (await (
      await gw.call('carol', 'POST', `${path}/decisions`, approve({ window_seconds: 200 }))
    ).json()) as View;
    expect(carol.status).toBe('pending');
    expect(carol.vote?.terms?.terms_hash).not.toBe(bob.vote?.terms?.terms_hash);

    // Grace approves Bob's terms: two votes on the same terms are a quorum for them.
    const grace = (await (
      await gw.call('grace', 'POST', `${path}/decisions`, approve(narrowTo))
    ).json()) as View;
    expect(grace.status).toBe('approved');
    expect(grace.narrowed?.terms.terms_hash).toBe(bob.vote?.terms?.terms_hash);
    expect(grace.narrowed?.asked.resources).toEqual([ASKED]);
    expect(grace.grant).toMatchObject({
      actions: ['s3:GetObject'],
      resources: [ONE_FILE],
      window_seconds: 120,
    });

    const waited = (await (await gw.call('agent', 'GET', `${path}?wait=1`)).json()) as View;
    expect(waited.agent_message).toContain('narrower than you asked');
    expect(waited.agent_message).toContain(`s3:GetObject on ${ONE_FILE}, for 120 s`);

    const redeemed = await gw.call('agent', 'POST', `${path}/grant`);
    expect(redeemed.status).toBe(200);
    expect(((await redeemed.json()) as { agent_message: string }).agent_message).toContain(
      'narrower than you asked',
    );
    const assumeRole = proxy.bodies.find((body) => body.get('Action') === 'AssumeRole');
    const policy = JSON.parse(assumeRole?.get('Policy') ?? 'null') as {
      Statement: {
        Action: string[];
        Resource: string[];
        Condition: { DateLessThan: { 'aws:CurrentTime': string } };
      }[];
    };
    expect(policy.Statement).toHaveLength(1);
    expect(policy.Statement[0]?.Action).toEqual(['s3:GetObject']);
    expect(policy.Statement[0]?.Resource).toEqual([ONE_FILE]);
    const until = Date.parse(policy.Statement[0]?.Condition.DateLessThan['aws:CurrentTime'] ?? '');
    expect(until).toBeLessThanOrEqual(Date.now() + 120_000);

    const trail = (await (await gw.call('agent', 'GET', `${path}/audit`)).json()) as Trail & {
      verification: { ok: boolean };
    };
    expect(trail.verification.ok).toBe(true);
    const reviews = trail.events.filter((e) => e.type === 'review.recorded');
    expect(reviews).toHaveLength(3);
    for (const review of reviews) {
      expect(review.data.reevaluation).toMatchObject({ outcome: 'require_approval' });
    }
    expect(trail.events.find((e) => e.type === 'request.approved')?.data).toMatchObject({
      approvers: ['user:bob@example.gov', 'user:grace@example.gov'],
      terms_hash: bob.vote?.terms?.terms_hash,
    });
  }, 90_000);
});
