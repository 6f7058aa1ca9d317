import { describe, expect, it } from 'vitest';
import { CredentialsUnavailableError } from '../../../functions/core/errors.ts';
import type { CredentialBroker } from '../../../functions/core/ports/credentials.port.ts';
import { testApp } from '../../support/app.ts';
import { decision, exportInput, stsGrantDecision } from '../../support/fixtures.ts';

async function errorOf(response: Response) {
  const body = (await response.json()) as { error: string; message: string; details?: unknown };
  return { status: response.status, ...body };
}

describe('HTTP application', () => {
  describe('submission', () => {
    it('answers 202 with the pending request, its action hash and a message for the agent', async () => {
      const { call } = testApp();
      const res = await call('POST', '/v1/action-requests', { body: exportInput });
      expect(res.status).toBe(202);
      const view = (await res.json()) as Record<string, unknown>;
      expect(view).toMatchObject({
        status: 'pending',
        requester: 'agent:demo-exporter',
        approval: { required: 2, received: 0, groups: ['data-owners'] },
      });
      expect(view.action_hash).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(view.agent_message).toMatch(/Nothing has been executed/);
      expect(view.agent_message).toMatch(/Do not retry/);
      expect(res.headers.get('location')).toBe(`/v1/action-requests/${view.id}`);
    });

    it('answers 200 for a request the policy decides at once', async () => {
      const { call } = testApp(decision({ outcome: 'deny', approval: undefined }));
      const res = await call('POST', '/v1/action-requests', { body: exportInput });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ status: 'denied' });
    });

    it('never lets the body set the requester', async () => {
      const { call } = testApp();
      const res = await call('POST', '/v1/action-requests', {
        body: { ...exportInput, subject: { id: 'user:bob@example.gov' } },
      });
      expect(await errorOf(res)).toMatchObject({ status: 400, error: 'invalid_request' });
    });

    it('returns the original request for a repeated Idempotency-Key, and 409 for a different body', async () => {
      const { call } = testApp();
      const headers = { 'idempotency-key': 'retry-1' };
      const first = (await (
        await call('POST', '/v1/action-requests', { body: exportInput, headers })
      ).json()) as {
        id: string;
      };
      const again = (await (
        await call('POST', '/v1/action-requests', { body: exportInput, headers })
      ).json()) as {
        id: string;
      };
      expect(again.id).toBe(first.id);
      const other = { ...exportInput, context: { justification: 'different' } };
      const res = await call('POST', '/v1/action-requests', { body: other, headers });
      expect(await errorOf(res)).toMatchObject({ status: 409, error: 'idempotency_conflict' });
    });
  });

  describe('bad input', () => {
    it('refuses malformed JSON with 400', async () => {
      const { call } = testApp();
      const res = await call('POST', '/v1/action-requests', {
        raw: '{"action": ',
        headers: { 'content-type': 'application/json' },
      });
      expect(await errorOf(res)).toMatchObject({ status: 400, error: 'invalid_json' });
    });

    it('refuses a body that is not JSON with 415', async () => {
      const { call } = testApp();
      const res = await call('POST', '/v1/action-requests', {
        raw: 'action=data.export',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      expect(await errorOf(res)).toMatchObject({ status: 415, error: 'unsupported_media_type' });
    });

    it('refuses a body over 64 KiB with 413 and records nothing', async () => {
      const { call, store } = testApp();
      const big = { ...exportInput, action: { name: 'data.export', args: { blob: 'x'.repeat(70_000) } } };
      const res = await call('POST', '/v1/action-requests', { body: big });
      expect(await errorOf(res)).toMatchObject({ status: 413, error: 'payload_too_large' });
      expect((await store.listByStatus('pending')).items).toHaveLength(0);
    });

    it('refuses a body whose Content-Length is over 64 KiB with 413, as one sent without a length', async () => {
      const { call, store } = testApp();
      const big = { ...exportInput, action: { name: 'data.export', args: { blob: 'x'.repeat(70_000) } } };
      const raw = JSON.stringify(big);
      const res = await call('POST', '/v1/action-requests', {
        raw,
        headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(raw)) },
      });
      expect(await errorOf(res)).toMatchObject({ status: 413, error: 'payload_too_large' });
      expect((await store.listByStatus('pending')).items).toHaveLength(0);
    });

    it('answers every call with its x-request-id, accepted or refused', async () => {
      const { call } = testApp();
      const accepted = await call('POST', '/v1/action-requests', { body: exportInput });
      const refused = await call('POST', '/v1/action-requests', {
        raw: '{"action": ',
        headers: { 'content-type': 'application/json' },
      });
      expect(accepted.status).toBe(202);
      expect(refused.status).toBe(400);
      for (const res of [accepted, refused])
        expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
      expect(accepted.headers.get('x-request-id')).not.toBe(refused.headers.get('x-request-id'));
    });

    it('names the fields to fix for wrong types and unknown fields', async () => {
      const { call } = testApp();
      const res = await call('POST', '/v1/action-requests', {
        body: { action: { name: 42 }, resource: { type: 'x', id: 'y', colour: 'red' } },
      });
      const error = await errorOf(res);
      expect(error).toMatchObject({ status: 400, error: 'invalid_request' });
      const paths = (error.details as { issues: { path: string }[] }).issues.map((i) => i.path);
      expect(paths).toEqual(expect.arrayContaining(['action.name', 'resource']));
    });

    it('refuses arguments nested deeper than the limit', async () => {
      const { call } = testApp();
      let deep: unknown = 'leaf';
      for (let i = 0; i < 40; i++) deep = { d: deep };
      const res = await call('POST', '/v1/action-requests', {
        body: { ...exportInput, action: { name: 'data.export', args: { deep } } },
      });
      expect(await errorOf(res)).toMatchObject({ status: 400, error: 'invalid_request' });
    });

    it('refuses what JSON.parse accepts but hashing and approvers cannot: Infinity, __proto__, lone surrogates', async () => {
      const { call, store } = testApp();
      const bodies = [
        '{"action":{"name":"data.export","args":{"x":1e309}},"resource":{"type":"t","id":"i"}}',
        '{"action":{"name":"data.export","args":{"__proto__":{"evil":1},"a":1}},"resource":{"type":"t","id":"i"}}',
        '{"action":{"name":"data.export"},"resource":{"type":"t","id":"\\ud800"}}',
      ];
      for (const raw of bodies) {
        for (const path of ['/v1/action-requests', '/v1/evaluate']) {
          const res = await call('POST', path, { raw, headers: { 'content-type': 'application/json' } });
          const error = await errorOf(res);
          expect(error, raw).toMatchObject({ status: 400, error: 'invalid_request' });
        }
      }
      expect((await store.listByStatus('pending')).items).toHaveLength(0);
    });

    it('accepts tiny and fractional numbers and integers up to 2^53 − 1', async () => {
      const { call } = testApp();
      const res = await call('POST', '/v1/action-requests', {
        body: {
          ...exportInput,
          action: { name: 'data.export', args: { bytes: 9007199254740991, tiny: 5e-324, ratio: 0.1 } },
        },
      });
      expect(res.status).toBe(202);
    });

    it('refuses ids that are not request ids, including path traversal', async () => {
      const { call } = testApp();
      for (const id of ['..%2F..%2Fetc%2Fpasswd', 'ar_short', '%00', 'ar_01JD3Z6Q0M8Y3W8T5V9K2N4P6R%2F..']) {
        const res = await call('GET', `/v1/action-requests/${id}`);
        expect([400, 404]).toContain(res.status);
        expect((await res.json()) as object).toHaveProperty('error');
      }
    });

    it('answers 401 without a token and for a forged one', async () => {
      const { call, app } = testApp();
      expect((await call('GET', '/v1/action-requests', { token: null })).status).toBe(401);
      const forged = await app.request('/v1/action-requests', {
        headers: { authorization: 'Bearer not-a-real-token' },
      });
      expect(forged.status).toBe(401);
    });

    it('answers 405 with Allow for a method a known path does not have', async () => {
      const { call } = testApp();
      const id = 'ar_01JD3Z6Q0M8Y3W8T5V9K2N4P6R';
      const cases: [string, string, string][] = [
        ['DELETE', `/v1/action-requests/${id}`, 'GET, HEAD'],
        ['PUT', '/v1/action-requests', 'GET, HEAD, POST'],
        ['GET', `/v1/action-requests/${id}/cancel`, 'POST'],
        ['PATCH', '/healthz', 'GET, HEAD'],
      ];
      for (const [method, path, allow] of cases) {
        const res = await call(method, path);
        expect(res.status, `${method} ${path}`).toBe(405);
        expect(res.headers.get('allow')).toBe(allow);
        expect(await res.json()).toMatchObject({ error: 'method_not_allowed' });
      }
    });

    it('answers 404 as JSON for unknown routes', async () => {
      const { call } = testApp();
      expect(await errorOf(await call('GET', '/v1/nope'))).toMatchObject({ status: 404, error: 'not_found' });
    });
  });

  describe('review, grant, outcome, audit', () => {
    it('runs the whole approval path and the chain verifies', async () => {
      const { call } = testApp();
      const submitted = (await (await call('POST', '/v1/action-requests', { body: exportInput })).json()) as {
        id: string;
        action_hash: string;
      };
      const path = `/v1/action-requests/${submitted.id}`;
      const vote = { decision: 'approve', action_hash: submitted.action_hash };
      expect((await call('POST', `${path}/decisions`, { token: 'agent', body: vote })).status).toBe(403);
      expect((await call('POST', `${path}/decisions`, { token: 'mallory', body: vote })).status).toBe(404);
      expect((await call('POST', `${path}/decisions`, { token: 'bob', body: vote })).status).toBe(200);
      const stale = { ...vote, action_hash: `sha256:${'0'.repeat(64)}` };
      expect(
        await errorOf(await call('POST', `${path}/decisions`, { token: 'carol', body: stale })),
      ).toMatchObject({
        status: 409,
        error: 'stale_action_hash',
      });
      const approved = await call('POST', `${path}/decisions`, { token: 'carol', body: vote });
      expect(await approved.json()).toMatchObject({ status: 'approved', approval: { received: 2 } });

      const grant = await call('POST', `${path}/grant`);
      expect(grant.status).toBe(200);
      expect(grant.headers.get('cache-control')).toBe('no-store');
      expect(await errorOf(await call('POST', `${path}/grant`))).toMatchObject({
        status: 409,
        error: 'grant_already_redeemed',
      });
      expect((await call('POST', `${path}/outcome`, { body: { status: 'succeeded' } })).status).toBe(200);

      const audit = (await (await call('GET', `${path}/audit`, { token: 'audrey' })).json()) as {
        events: { type: string }[];
        verification: { ok: boolean };
      };
      expect(audit.verification.ok).toBe(true);
      expect(audit.events.map((e) => e.type)).toContain('grant.redeemed');
      expect((await call('GET', `${path}/audit`, { token: 'mallory' })).status).toBe(404);
    });

    it('answers 404 to a vote from someone who may not see the request, and records nothing', async () => {
      const { call } = testApp();
      const submitted = (await (await call('POST', '/v1/action-requests', { body: exportInput })).json()) as {
        id: string;
        action_hash: string;
      };
      const path = `/v1/action-requests/${submitted.id}`;
      await call('POST', `${path}/cancel`);
      const vote = { decision: 'approve', action_hash: submitted.action_hash };
      expect(
        await errorOf(await call('POST', `${path}/decisions`, { token: 'mallory', body: vote })),
      ).toMatchObject({
        status: 404,
        error: 'not_found',
      });
      const audit = (await (await call('GET', `${path}/audit`)).json()) as { events: { type: string }[] };
      expect(audit.events.map((e) => e.type)).not.toContain('review.late');
      expect((await call('POST', `${path}/decisions`, { token: 'bob', body: vote })).status).toBe(409);
    });

    it('needs a comment to reject and tells the agent who rejected and why', async () => {
      const { call } = testApp();
      const submitted = (await (await call('POST', '/v1/action-requests', { body: exportInput })).json()) as {
        id: string;
        action_hash: string;
      };
      const path = `/v1/action-requests/${submitted.id}/decisions`;
      const reject = { decision: 'reject', action_hash: submitted.action_hash };
      expect((await call('POST', path, { token: 'bob', body: reject })).status).toBe(400);
      const res = await call('POST', path, {
        token: 'bob',
        body: { ...reject, comment: 'Use the redacted set.' },
      });
      const view = (await res.json()) as { status: string; agent_message: string };
      expect(view.status).toBe('rejected');
      expect(view.agent_message).toContain('Use the redacted set.');
      expect(view.agent_message).toContain('user:bob@example.gov');
    });

    it('wakes a long-poll as soon as the status changes', async () => {
      const { call, hub } = testApp(
        decision({ approval: { groups: ['data-owners'], min_approvals: 1, timeout_seconds: 60 } }),
      );
      const submitted = (await (await call('POST', '/v1/action-requests', { body: exportInput })).json()) as {
        id: string;
        action_hash: string;
      };
      // Vote only once the long-poll listens, so the answer can only come from being woken.
      const listening = new Promise<void>((resolve) => {
        const subscribe = hub.subscribe.bind(hub);
        hub.subscribe = (id, listener) => {
          const unsubscribe = subscribe(id, listener);
          if (id === submitted.id) resolve();
          return unsubscribe;
        };
      });
      const started = Date.now();
      const polling = call('GET', `/v1/action-requests/${submitted.id}?wait=20`);
      await listening;
      await call('POST', `/v1/action-requests/${submitted.id}/decisions`, {
        token: 'bob',
        body: { decision: 'approve', action_hash: submitted.action_hash },
      });
      const view = (await (await polling).json()) as { status: string };
      expect(view.status).toBe('approved');
      expect(Date.now() - started).toBeLessThan(5_000);
    });

    it('holds a long-poll no longer than the deployment’s cap, then answers pending so the caller polls again', async () => {
      const { call } = testApp(
        decision({ approval: { groups: ['data-owners'], min_approvals: 1, timeout_seconds: 60 } }),
        { maxWaitSeconds: 1 },
      );
      const submitted = (await (await call('POST', '/v1/action-requests', { body: exportInput })).json()) as {
        id: string;
      };
      for (const [path, headers] of [
        [`/v1/action-requests/${submitted.id}?wait=25`, {}],
        [`/v1/action-requests/${submitted.id}`, { prefer: 'wait=25' }],
      ] as const) {
        const started = Date.now();
        const response = await call('GET', path, { headers });
        const elapsed = Date.now() - started;
        expect(response.status, path).toBe(200);
        expect(((await response.json()) as { status: string }).status).toBe('pending');
        // Held for the cap (1 s), not the 25 s asked for.
        expect(elapsed, path).toBeGreaterThanOrEqual(900);
        expect(elapsed, path).toBeLessThan(10_000);
      }
    });

    it('lists what an approver may review, and nothing for others', async () => {
      const { call } = testApp();
      await call('POST', '/v1/action-requests', { body: exportInput });
      const mine = (await (
        await call('GET', '/v1/action-requests?status=pending', { token: 'bob' })
      ).json()) as {
        count: number;
      };
      expect(mine.count).toBe(1);
      const theirs = (await (await call('GET', '/v1/action-requests', { token: 'mallory' })).json()) as {
        count: number;
      };
      expect(theirs.count).toBe(0);
    });

    it('lists a principal its own requests even behind many it may not see', async () => {
      const { call } = testApp(decision({ outcome: 'allow', approval: undefined }));
      for (let i = 0; i < 5; i++)
        await call('POST', '/v1/action-requests', { token: 'mallory', body: exportInput });
      const { id } = (await (await call('POST', '/v1/action-requests', { body: exportInput })).json()) as {
        id: string;
      };
      const list = (await (await call('GET', '/v1/action-requests?status=approved&limit=5')).json()) as {
        items: { id: string }[];
      };
      expect(list.items.map((i) => i.id)).toEqual([id]);
    });

    it('cancels for the requester only', async () => {
      const { call } = testApp();
      const { id } = (await (await call('POST', '/v1/action-requests', { body: exportInput })).json()) as {
        id: string;
      };
      expect((await call('POST', `/v1/action-requests/${id}/cancel`, { token: 'bob' })).status).toBe(403);
      const res = await call('POST', `/v1/action-requests/${id}/cancel`, {
        body: { reason: 'no longer needed' },
      });
      expect(await res.json()).toMatchObject({ status: 'cancelled' });
      expect((await call('POST', `/v1/action-requests/${id}/cancel`)).status).toBe(409);
    });

    const stsGrant = stsGrantDecision();

    it('answers 501 credentials_not_configured for an aws_sts grant without a broker, says how to configure one, and burns nothing', async () => {
      const { call } = testApp(stsGrant);
      const { id } = (await (await call('POST', '/v1/action-requests', { body: exportInput })).json()) as {
        id: string;
      };
      const res = await call('POST', `/v1/action-requests/${id}/grant`);
      const problem = await errorOf(res);
      expect(problem).toMatchObject({ status: 501, error: 'credentials_not_configured' });
      expect(problem.message).toMatch(/Configure one: .*"credentials": \{"sts"/);
      expect(res.headers.get('retry-after')).toBeNull();
      const view = (await (await call('GET', `/v1/action-requests/${id}`)).json()) as {
        grant: { redeemed_at?: string };
      };
      expect(view.grant.redeemed_at).toBeUndefined();
    });

    it('answers 503 while STS is unavailable, and lets a retry succeed later, exactly once', async () => {
      let stsUp = false;
      const issued: string[] = [];
      const credentials: CredentialBroker = {
        issue: async (request, policy, now) => {
          if (!stsUp) throw new CredentialsUnavailableError('STS did not answer; retry in a moment');
          issued.push(request.id);
          return {
            type: 'aws_sts',
            accessKeyId: 'ASIATESTKEY',
            secretAccessKey: 'test-secret',
            sessionToken: 'test-session',
            expiration: new Date(now.getTime() + 900_000).toISOString(),
            usableUntil: policy.usableUntil.toISOString(),
            sessionName: `ala-${request.id}`,
          };
        },
      };
      const { call } = testApp(stsGrant, { credentials });
      const { id } = (await (await call('POST', '/v1/action-requests', { body: exportInput })).json()) as {
        id: string;
      };
      const first = await call('POST', `/v1/action-requests/${id}/grant`);
      expect(await errorOf(first)).toMatchObject({ status: 503, error: 'credentials_unavailable' });

      stsUp = true;
      const retry = await call('POST', `/v1/action-requests/${id}/grant`);
      expect(retry.status).toBe(200);
      expect(retry.headers.get('cache-control')).toBe('no-store');
      expect(await retry.json()).toMatchObject({ credentials: { access_key_id: 'ASIATESTKEY' } });
      expect(issued).toEqual([id]);
      const view = (await (await call('GET', `/v1/action-requests/${id}`)).json()) as {
        grant: { redeemed_at?: string };
      };
      expect(view.grant.redeemed_at).toEqual(expect.any(String));
      const again = await call('POST', `/v1/action-requests/${id}/grant`);
      expect(await errorOf(again)).toMatchObject({ status: 409, error: 'grant_already_redeemed' });
    });

    it('refuses a grant with an unstated wildcard with 422 before calling STS, audits the refusal, and burns nothing', async () => {
      const issued: string[] = [];
      const credentials: CredentialBroker = {
        issue: async (request) => {
          issued.push(request.id);
          throw new Error('the broker must not be reached');
        },
      };
      const wide = stsGrantDecision(['arn:aws:s3:::exports/*']);
      const { call } = testApp(wide, { credentials });
      const { id } = (await (await call('POST', '/v1/action-requests', { body: exportInput })).json()) as {
        id: string;
      };
      const res = await call('POST', `/v1/action-requests/${id}/grant`);
      const problem = await errorOf(res);
      expect(problem).toMatchObject({ status: 422, error: 'grant_wildcard_not_stated' });
      expect(problem.message).toContain('arn:aws:s3:::exports/*');
      expect(issued).toEqual([]);
      const audit = (await (await call('GET', `/v1/action-requests/${id}/audit`)).json()) as {
        events: { type: string; data: Record<string, unknown> }[];
        verification: { valid: boolean };
      };
      expect(audit.events.at(-1)).toMatchObject({
        type: 'grant.refused',
        data: { code: 'grant_wildcard_not_stated' },
      });
      const view = (await (await call('GET', `/v1/action-requests/${id}`)).json()) as {
        status: string;
        grant: { redeemed_at?: string };
      };
      expect(view.status).toBe('approved');
      expect(view.grant.redeemed_at).toBeUndefined();
    });

    it('refuses an outcome for a grant that was never redeemed', async () => {
      const { call } = testApp(decision({ outcome: 'allow', approval: undefined }));
      const { id } = (await (await call('POST', '/v1/action-requests', { body: exportInput })).json()) as {
        id: string;
      };
      const early = await call('POST', `/v1/action-requests/${id}/outcome`, {
        body: { status: 'succeeded' },
      });
      const problem = await errorOf(early);
      expect(problem).toMatchObject({ status: 409, error: 'grant_not_redeemed' });
      expect(problem.message).toContain('redeem it');
      expect((await call('POST', `/v1/action-requests/${id}/grant`)).status).toBe(200);
      const late = await call('POST', `/v1/action-requests/${id}/outcome`, { body: { status: 'succeeded' } });
      expect(late.status).toBe(200);
    });
  });

  it('serves an OpenAPI 3.1 document of every route', async () => {
    const { call } = testApp();
    const doc = (await (await call('GET', '/v1/openapi.json', { token: null })).json()) as {
      openapi: string;
      paths: Record<string, unknown>;
    };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths).sort()).toEqual([
      '/v1/action-requests',
      '/v1/action-requests/{id}',
      '/v1/action-requests/{id}/audit',
      '/v1/action-requests/{id}/cancel',
      '/v1/action-requests/{id}/decisions',
      '/v1/action-requests/{id}/grant',
      '/v1/action-requests/{id}/outcome',
      '/v1/evaluate',
      '/v1/integrations/slack/interactions',
      '/v1/integrations/teams/messages',
      '/v1/whoami',
    ]);
  });

  it('answers 404 slack_not_configured on a signed Slack callback of a gateway without Slack, before reading it', async () => {
    const { call } = testApp();
    const response = await call('POST', '/v1/integrations/slack/interactions', {
      token: null,
      raw: 'payload=%7B%7D',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-slack-request-timestamp': String(Math.floor(Date.now() / 1000)),
        'x-slack-signature': `v0=${'0'.repeat(64)}`,
      },
    });
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: 'slack_not_configured', message: /docs\/chat\.md/ });
  });

  it('answers 401 to a Slack callback without Slack’s signature headers, configured or not', async () => {
    const { call } = testApp();
    const response = await call('POST', '/v1/integrations/slack/interactions', {
      token: null,
      raw: 'payload=%7B%7D',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({
      error: 'invalid_signature',
      message: /x-slack-signature and x-slack-request-timestamp/,
    });
  });
});
