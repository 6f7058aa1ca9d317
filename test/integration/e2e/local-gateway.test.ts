/**
 * End to end over real HTTP against the real local gateway process (`npm start`'s entry), with the
 * committed default policy bundle and an SQLite store on disk.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyChain } from '../../../functions/core/audit.ts';
import { PROD_CUI_EXPORT } from '../../fixtures/requests.ts';
import { waitFor } from '../../harness/index.ts';
import {
  type GatewayProcess,
  gatewayConfig,
  PRINCIPALS,
  startGatewayProcess,
} from '../../support/gateway-process.ts';

const cuiExport = PROD_CUI_EXPORT;

interface View {
  id: string;
  status: string;
  action_hash: string;
  agent_message: string;
  approval?: { required: number; received: number; expires_at: string };
  grant?: { type: string; redeemed_at?: string };
}
interface AuditTrail {
  events: { type: string; actor: string; seq: number }[];
  verification: { ok: boolean };
}

describe('Local gateway, end to end over HTTP', () => {
  let gw: GatewayProcess;
  beforeAll(async () => {
    // Debug logs: every HTTP call is logged, so the token check below has something to look at.
    gw = await startGatewayProcess(gatewayConfig(undefined, 'debug'));
  });
  afterAll(async () => {
    await gw?.stop();
  });

  const submit = async (body: unknown = cuiExport) => {
    const res = await gw.call('agent', 'POST', '/v1/action-requests', body);
    return { status: res.status, view: (await res.json()) as View };
  };

  it('submit → pending → two approvals → the waiting agent is answered → redeem → outcome → chain verifies', async () => {
    const { status, view } = await submit();
    expect(status).toBe(202);
    expect(view.status).toBe('pending');
    expect(view.approval).toMatchObject({ required: 2, received: 0 });
    const path = `/v1/action-requests/${view.id}`;

    // The agent long-polls while the approvers decide.
    const started = Date.now();
    const waiting = gw.call('agent', 'GET', `${path}?wait=25`);
    const vote = { decision: 'approve', action_hash: view.action_hash };
    expect((await gw.call('agent', 'POST', `${path}/decisions`, vote)).status).toBe(403);
    expect((await gw.call('bob', 'POST', `${path}/decisions`, vote)).status).toBe(200);
    expect((await gw.call('bob', 'POST', `${path}/decisions`, vote)).status).toBe(200);
    const pending = (await (await gw.call('carol', 'GET', '/v1/action-requests?status=pending')).json()) as {
      items: { id: string }[];
    };
    expect(pending.items.map((i) => i.id)).toContain(view.id);
    expect((await gw.call('carol', 'POST', `${path}/decisions`, vote)).status).toBe(200);
    const answered = (await (await waiting).json()) as View;
    expect(answered.status).toBe('approved');
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(answered.agent_message).toMatch(/^Approved by user:bob@example.gov and user:carol@example.gov/);

    // The default pack grants a data export as aws_sts, and this gateway has no credential broker:
    // the grant is refused as a configuration gap (not retryable), and not burned; without a
    // redemption there is no outcome to report. (A grant local mode can issue: the next describe.)
    expect(answered.grant?.type).toBe('aws_sts');
    const grant = await gw.call('agent', 'POST', `${path}/grant`);
    expect(grant.status).toBe(501);
    expect(await grant.json()).toMatchObject({ error: 'credentials_not_configured' });
    const unburned = (await (await gw.call('agent', 'GET', path)).json()) as View;
    expect(unburned.grant?.redeemed_at).toBeUndefined();
    const early = await gw.call('agent', 'POST', `${path}/outcome`, { status: 'succeeded' });
    expect(early.status).toBe(409);
    expect(await early.json()).toMatchObject({ error: 'grant_not_redeemed' });

    const trail = (await (await gw.call('agent', 'GET', `${path}/audit`)).json()) as AuditTrail;
    expect(trail.verification.ok).toBe(true);
    // Verified again here from the raw events, as an auditor would.
    expect(verifyChain(trail.events).ok).toBe(true);
    expect(trail.events.map((e) => e.type)).toEqual(
      expect.arrayContaining([
        'request.submitted',
        'policy.evaluated',
        'approval.requested',
        'review.recorded',
        'request.approved',
      ]),
    );
    expect(trail.events.filter((e) => e.type === 'review.recorded').map((e) => e.actor)).toEqual([
      PRINCIPALS.bob.id,
      PRINCIPALS.carol.id,
    ]);
  });

  it('ends a request on rejection and tells the agent why', async () => {
    const { view } = await submit();
    const path = `/v1/action-requests/${view.id}`;
    const res = await gw.call('bob', 'POST', `${path}/decisions`, {
      decision: 'reject',
      action_hash: view.action_hash,
      comment: 'Export the redacted set instead.',
    });
    expect(res.status).toBe(200);
    const seen = (await (await gw.call('agent', 'GET', path)).json()) as View;
    expect(seen.status).toBe('rejected');
    expect(seen.agent_message).toContain('Export the redacted set instead.');
    const late = await gw.call('carol', 'POST', `${path}/decisions`, {
      decision: 'approve',
      action_hash: view.action_hash,
    });
    expect(late.status).toBe(409);
    const trail = (await (await gw.call('agent', 'GET', `${path}/audit`)).json()) as AuditTrail;
    expect(trail.verification.ok).toBe(true);
    expect(trail.events.at(-1)).toMatchObject({ type: 'review.late', actor: PRINCIPALS.carol.id });
  });

  it('cancels a pending request for its requester', async () => {
    const { view } = await submit();
    const path = `/v1/action-requests/${view.id}`;
    expect((await gw.call('bob', 'POST', `${path}/cancel`)).status).toBe(403);
    const res = await gw.call('agent', 'POST', `${path}/cancel`, { reason: 'user changed their mind' });
    expect(await res.json()).toMatchObject({ status: 'cancelled' });
    const trail = (await (await gw.call('agent', 'GET', `${path}/audit`)).json()) as AuditTrail;
    expect(trail.events.at(-1)?.type).toBe('request.cancelled');
  });

  it('denies what the policy denies, at once, with reasons for the agent', async () => {
    const external = {
      ...cuiExport,
      action: {
        name: 'data.export',
        args: { dataset: 'ledger_2026q2', destination: 's3://someone-else/drop/' },
      },
    };
    const { status, view } = await submit(external);
    expect(status).toBe(200);
    expect(view.status).toBe('denied');
    expect(view.agent_message).toMatch(/Denied by policy/);
  });

  it('refuses bad input with a 4xx and a message, never a 500', async () => {
    const cases: [string, RequestInit][] = [
      [
        'malformed JSON',
        { method: 'POST', body: '{"action":', headers: { 'content-type': 'application/json' } },
      ],
      ['wrong content type', { method: 'POST', body: 'a=b', headers: { 'content-type': 'text/plain' } }],
      [
        'body over 64 KiB',
        {
          method: 'POST',
          body: JSON.stringify({ ...cuiExport, context: { justification: 'x'.repeat(70_000) } }),
          headers: { 'content-type': 'application/json' },
        },
      ],
      [
        'unknown field',
        {
          method: 'POST',
          body: JSON.stringify({ ...cuiExport, extra: 1 }),
          headers: { 'content-type': 'application/json' },
        },
      ],
    ];
    for (const [, init] of cases) {
      const res = await fetch(`${gw.url}/v1/action-requests`, {
        ...init,
        headers: {
          ...(init.headers as Record<string, string>),
          authorization: `Bearer ${PRINCIPALS.agent.token}`,
        },
      });
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(((await res.json()) as { message: string }).message.length).toBeGreaterThan(5);
    }
    const huge = await fetch(`${gw.url}/v1/action-requests`, {
      headers: { authorization: `Bearer ${PRINCIPALS.agent.token}`, 'x-filler': 'y'.repeat(20_000) },
    });
    expect(huge.status).toBe(431);
    const traversal = await gw.call('agent', 'GET', '/v1/action-requests/..%2F..%2Fetc%2Fpasswd');
    expect([400, 404]).toContain(traversal.status);
  });
});

describe('Local gateway, a grant that needs no credentials', () => {
  let gw: GatewayProcess;
  beforeAll(async () => {
    // The default pack with no grant data for data.export: the policy then grants `{"type": "none"}`
    // (the action needs nothing from the gateway), which local mode redeems without STS.
    gw = await startGatewayProcess(
      gatewayConfig((data) => {
        const grants = data.grants as Record<string, unknown> | undefined;
        if (!grants?.['data.export']) throw new Error('policy data has no grants["data.export"] to remove');
        delete grants['data.export'];
      }),
    );
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it('redeems an approved grant exactly once, no-store, then accepts the outcome; the chain verifies', async () => {
    const submitted = await gw.call('agent', 'POST', '/v1/action-requests', cuiExport);
    expect(submitted.status).toBe(202);
    const view = (await submitted.json()) as View;
    expect(view.grant?.type).toBe('none');
    const path = `/v1/action-requests/${view.id}`;
    const vote = { decision: 'approve', action_hash: view.action_hash };
    expect((await gw.call('bob', 'POST', `${path}/decisions`, vote)).status).toBe(200);
    expect((await gw.call('carol', 'POST', `${path}/decisions`, vote)).status).toBe(200);

    const grant = await gw.call('agent', 'POST', `${path}/grant`);
    expect(grant.status).toBe(200);
    expect(grant.headers.get('cache-control')).toBe('no-store');
    expect(await grant.json()).toMatchObject({ grant: { type: 'none' } });
    const again = await gw.call('agent', 'POST', `${path}/grant`);
    expect(again.status).toBe(409);
    expect(await again.json()).toMatchObject({ error: 'grant_already_redeemed' });
    expect((await gw.call('agent', 'POST', `${path}/outcome`, { status: 'succeeded' })).status).toBe(200);

    const trail = (await (await gw.call('agent', 'GET', `${path}/audit`)).json()) as AuditTrail;
    expect(verifyChain(trail.events).ok).toBe(true);
    expect(trail.events.filter((e) => e.type === 'grant.redeemed')).toEqual([
      expect.objectContaining({ actor: PRINCIPALS.agent.id }),
    ]);
    expect(trail.events.at(-1)?.type).toBe('action.outcome');
  });
});

describe('Local gateway logs', () => {
  it('are JSON lines with the HTTP request id of each call, and never contain a bearer token', async () => {
    const gw = await startGatewayProcess(gatewayConfig(undefined, 'debug'));
    try {
      await gw.call('agent', 'POST', '/v1/action-requests', cuiExport);
      await gw.call('mallory', 'GET', '/v1/action-requests');
      await gw.call(null, 'GET', '/v1/action-requests');
      const lines = gw
        .output()
        .split('\n')
        .filter((line) => line.startsWith('{'));
      const http = lines
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .filter((l) => l.message === 'http');
      expect(http.length).toBeGreaterThanOrEqual(3);
      for (const entry of http) expect(entry.httpRequestId).toMatch(/^[0-9a-f-]{36}$/);
      for (const p of Object.values(PRINCIPALS)) expect(gw.output()).not.toContain(p.token);
    } finally {
      await gw.stop();
    }
  });
});

describe('Local gateway lifecycle logs', () => {
  it('log one info line per lifecycle event with ids and the action name, a refusal at info and a 501 from missing configuration at error', async () => {
    // The default data grants data.export through AWS STS, which a gateway without a broker cannot issue (501).
    const config = gatewayConfig((data) => {
      const grants = data.grants as Record<string, unknown> | undefined;
      if (!grants?.['data.export']) throw new Error('the default data no longer grants data.export via STS');
    }, 'info');
    const gw = await startGatewayProcess(config);
    try {
      const entries = () =>
        gw
          .output()
          .split('\n')
          .filter((line) => line.startsWith('{'))
          .map((line) => JSON.parse(line) as Record<string, unknown>);
      const { view } = await (async () => {
        const res = await gw.call('agent', 'POST', '/v1/action-requests', cuiExport);
        return { view: (await res.json()) as View };
      })();
      const path = `/v1/action-requests/${view.id}`;
      const vote = { decision: 'approve', action_hash: view.action_hash };
      expect((await gw.call('agent', 'POST', `${path}/decisions`, vote)).status).toBe(403);
      expect((await gw.call('bob', 'POST', `${path}/decisions`, vote)).status).toBe(200);
      expect((await gw.call('carol', 'POST', `${path}/decisions`, vote)).status).toBe(200);
      expect((await gw.call('agent', 'POST', `${path}/grant`)).status).toBe(501);
      const other = (await (await gw.call('agent', 'POST', '/v1/action-requests', cuiExport)).json()) as View;
      expect((await gw.call('agent', 'POST', `/v1/action-requests/${other.id}/cancel`)).status).toBe(200);

      // Lines reach this process through a pipe, after the answers: wait for the last one.
      await waitFor(
        () => entries().find((e) => e.message === 'request cancelled' && e.requestId === other.id),
        { what: 'the cancellation log line', timeoutMs: 10_000 },
      );
      const mine = entries().filter((e) => e.requestId === view.id && e.level === 'INFO');
      expect(mine.map((e) => e.message)).toEqual([
        'request submitted',
        'approval requested',
        'vote recorded',
        'vote recorded',
        'request decided',
      ]);
      for (const e of mine) expect(e).toMatchObject({ action: 'data.export' });
      expect(mine.at(-1)).toMatchObject({ outcome: 'approved', by: 'review', status: 'approved' });
      expect(entries().find((e) => e.message === 'request refused')).toMatchObject({
        level: 'INFO',
        status: 403,
        error: 'self_approval',
        httpRequestId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      });
      expect(entries().find((e) => e.message === 'request failed')).toMatchObject({
        level: 'ERROR',
        status: 501,
        error: 'credentials_not_configured',
      });
      for (const p of Object.values(PRINCIPALS)) expect(gw.output()).not.toContain(p.token);
      expect(gw.output()).not.toContain('Quarterly reconciliation');
    } finally {
      await gw.stop();
    }
  });
});

describe('Local gateway, across a restart', () => {
  it('expires a pending request on time after the gateway was stopped and started again', async () => {
    const config = gatewayConfig((data) => {
      const profiles = data.approval_profiles as Record<string, Record<string, unknown>>;
      const prod = profiles.data_export_prod;
      if (!prod) throw new Error('the default data has no data_export_prod profile');
      prod.timeout_seconds = 3;
      delete prod.escalate_after_seconds;
      delete prod.escalation_groups;
    });
    const first = await startGatewayProcess(config);
    const res = await first.call('agent', 'POST', '/v1/action-requests', cuiExport);
    const view = (await res.json()) as View;
    expect(view.status).toBe('pending');
    const expiresAt = Date.parse(view.approval?.expires_at ?? '');
    expect(expiresAt - Date.now()).toBeLessThanOrEqual(3_000);
    expect(await first.stop('SIGTERM')).toBe(0);

    const second = await startGatewayProcess(config);
    try {
      expect(second.output()).toMatch(/1 pending approval\(s\) re-armed/);
      const path = `/v1/action-requests/${view.id}`;
      const ended = (await (await second.call('agent', 'GET', `${path}?wait=10`)).json()) as View;
      expect(ended.status).toBe('expired');
      expect(Math.abs(Date.now() - expiresAt)).toBeLessThan(3_000);
      const late = await second.call('bob', 'POST', `${path}/decisions`, {
        decision: 'approve',
        action_hash: view.action_hash,
      });
      expect(late.status).toBe(409);
      const trail = (await (await second.call('agent', 'GET', `${path}/audit`)).json()) as AuditTrail;
      expect(trail.verification.ok).toBe(true);
      expect(trail.events.slice(-2).map((e) => [e.type, e.actor])).toEqual([
        ['request.expired', 'system:timer'],
        ['review.late', PRINCIPALS.bob.id],
      ]);
    } finally {
      await second.stop();
    }
  });
});
