// The STS broker against moto's STS, through the real HTTP application: what AssumeRole is asked
// (read back from the wire by a recorder on the real SDK client's middleware stack; moto ignores
// SourceIdentity and Tags, so only the request proves them), what the agent receives, and that
// the grant is handed over once. moto does not enforce session policies; the policy's meaning is
// tested by the evaluator in test/unit/core/session-policy.test.ts.
import { GetCallerIdentityCommand, type STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StsCredentialBroker } from '../../../functions/adapters/aws/sts-credential-broker.ts';
import { MOTO_ACCOUNT_ID, stsClient, uniqueName } from '../../harness/index.ts';
import { testApp } from '../../support/app.ts';
import { decision, exportInput } from '../../support/fixtures.ts';

const RESOURCE = 'arn:aws:s3:::fin-ledger-prod/ledger_2026q2/report.csv';

describe('StsCredentialBroker on moto STS', () => {
  let sts: STSClient;
  const sent: URLSearchParams[] = [];
  const role = uniqueName('approved-data-export');
  const roleArn = `arn:aws:iam::${MOTO_ACCOUNT_ID}:role/${role}`;

  beforeAll(() => {
    sts = stsClient({ region: 'us-east-1' });
    // Records each serialized STS query as it leaves the real client (the AWS query protocol is a
    // form-encoded body).
    sts.middlewareStack.add(
      (next) => async (args) => {
        const body = (args.request as { body?: unknown }).body;
        if (typeof body === 'string') sent.push(new URLSearchParams(body));
        return next(args);
      },
      { step: 'finalizeRequest', name: 'recordStsRequests' },
    );
  });
  afterAll(() => sts?.destroy());

  function gateway() {
    const broker = new StsCredentialBroker(
      { partition: 'aws', accountId: MOTO_ACCOUNT_ID, allowedRoleArns: [roleArn], region: 'us-east-1' },
      sts,
    );
    return testApp(
      decision({
        grant: {
          type: 'aws_sts',
          role,
          actions: ['s3:GetObject'],
          resources: [RESOURCE],
          window_seconds: 300,
        },
      }),
      { credentials: broker },
    );
  }

  async function approved(call: ReturnType<typeof testApp>['call']) {
    const view = (await (await call('POST', '/v1/action-requests', { body: exportInput })).json()) as {
      id: string;
      action_hash: string;
    };
    const vote = { decision: 'approve', action_hash: view.action_hash };
    for (const who of ['bob', 'carol'] as const) {
      const res = await call('POST', `/v1/action-requests/${view.id}/decisions`, { token: who, body: vote });
      expect(res.status).toBe(200);
    }
    return view;
  }

  it('assumes the role with the session policy, 900 s, the source identity and the session tags, and hands the credentials over once', async () => {
    const { call } = gateway();
    const { id, action_hash } = await approved(call);
    const before = sent.length;

    const res = await call('POST', `/v1/action-requests/${id}/grant`);

    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = (await res.json()) as {
      credentials: {
        access_key_id: string;
        secret_access_key: string;
        session_token: string;
        expiration: string;
        usable_until: string;
      };
    };
    expect(body.credentials.access_key_id).toMatch(/^ASIA/);

    const assumed = sent.slice(before).find((q) => q.get('Action') === 'AssumeRole');
    expect(assumed?.get('RoleArn')).toBe(roleArn);
    expect(assumed?.get('RoleSessionName')).toBe(`ala-${id}`);
    expect(assumed?.get('DurationSeconds')).toBe('900');
    expect(assumed?.get('SourceIdentity')).toBe('agent.demo-exporter');
    const policy = JSON.parse(assumed?.get('Policy') ?? '{}') as {
      Statement: {
        Action: string[];
        Resource: string[];
        Condition: { DateLessThan: { 'aws:CurrentTime': string } };
      }[];
    };
    expect(policy.Statement).toHaveLength(1);
    expect(policy.Statement[0]?.Action).toEqual(['s3:GetObject']);
    expect(policy.Statement[0]?.Resource).toEqual([RESOURCE]);
    expect(Date.parse(policy.Statement[0]?.Condition.DateLessThan['aws:CurrentTime'] ?? '')).toBe(
      Date.parse(body.credentials.usable_until),
    );
    const tags = new Map<string, string>();
    for (let n = 1; assumed?.has(`Tags.member.${n}.Key`); n++) {
      tags.set(
        assumed.get(`Tags.member.${n}.Key`) as string,
        assumed.get(`Tags.member.${n}.Value`) as string,
      );
    }
    expect(Object.fromEntries(tags)).toEqual({
      principal: 'agent:demo-exporter',
      request_id: id,
      action_hash,
    });

    // The credentials are the assumed-role session's.
    const asSession = stsClient({
      region: 'us-east-1',
      credentials: {
        accessKeyId: body.credentials.access_key_id,
        secretAccessKey: body.credentials.secret_access_key,
        sessionToken: body.credentials.session_token,
      },
    });
    try {
      const who = await asSession.send(new GetCallerIdentityCommand({}));
      expect(who.Arn).toBe(`arn:aws:sts::${MOTO_ACCOUNT_ID}:assumed-role/${role}/ala-${id}`);
    } finally {
      asSession.destroy();
    }

    // Once: a second redemption and anyone else's are refused, with nothing issued.
    const issuedBefore = sent.filter((q) => q.get('Action') === 'AssumeRole').length;
    const again = await call('POST', `/v1/action-requests/${id}/grant`);
    expect(again.status).toBe(409);
    expect(await again.json()).toMatchObject({ error: 'grant_already_redeemed' });
    const bob = await call('POST', `/v1/action-requests/${id}/grant`, { token: 'bob' });
    expect(bob.status).toBe(403);
    expect(JSON.stringify(await bob.json())).not.toContain('secret');
    expect(sent.filter((q) => q.get('Action') === 'AssumeRole').length).toBe(issuedBefore);

    // The audit records the session, its expiry and the policy's hash; never the credentials.
    const audit = (await (await call('GET', `/v1/action-requests/${id}/audit`)).json()) as {
      events: { type: string; data: Record<string, unknown> }[];
    };
    expect(audit.events.find((e) => e.type === 'grant.redeemed')?.data).toMatchObject({
      session_name: `ala-${id}`,
      expiration: body.credentials.expiration,
      policy_hash: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
    });
    const trail = JSON.stringify(audit);
    for (const secret of Object.values(body.credentials).slice(0, 3)) expect(trail).not.toContain(secret);
  }, 60_000);

  it('refuses a role outside the allowed roles before calling STS, and audits the refusal', async () => {
    const broker = new StsCredentialBroker(
      { partition: 'aws', accountId: MOTO_ACCOUNT_ID, allowedRoleArns: [roleArn], region: 'us-east-1' },
      sts,
    );
    const { call } = testApp(
      decision({
        grant: {
          type: 'aws_sts',
          role: 'admin',
          actions: ['s3:GetObject'],
          resources: [RESOURCE],
          window_seconds: 300,
        },
      }),
      { credentials: broker },
    );
    const { id } = await approved(call);
    const before = sent.length;

    const res = await call('POST', `/v1/action-requests/${id}/grant`);

    expect(res.status).toBe(422);
    expect(await res.json()).toMatchObject({ error: 'grant_role_not_allowed' });
    expect(sent.length).toBe(before);
    const audit = (await (await call('GET', `/v1/action-requests/${id}/audit`)).json()) as {
      events: { type: string }[];
    };
    expect(audit.events.at(-1)?.type).toBe('grant.refused');
  }, 60_000);

  it('yields exactly one set of credentials to 20 concurrent redemptions', async () => {
    const { call } = gateway();
    const { id } = await approved(call);

    const answers = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const res = await call('POST', `/v1/action-requests/${id}/grant`);
        return { status: res.status, body: (await res.json()) as { credentials?: unknown; error?: string } };
      }),
    );

    const granted = answers.filter((a) => a.status === 200);
    expect(granted).toHaveLength(1);
    expect(granted[0]?.body.credentials).toBeDefined();
    const refused = answers.filter((a) => a.status !== 200);
    expect(refused).toHaveLength(19);
    for (const r of refused)
      expect(r).toMatchObject({ status: 409, body: { error: 'grant_already_redeemed' } });
  }, 120_000);
});
