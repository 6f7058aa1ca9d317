import { describe, expect, it } from 'vitest';
import type { PolicyInput } from '../../../functions/core/model.ts';
import { testApp } from '../../support/app.ts';
import { decision, exportInput } from '../../support/fixtures.ts';

interface Decided {
  status: string;
  approval: { received: number; votes: { approver: string }[] };
  vote: { approver: string; decision: string; time: string; recorded: boolean };
}

describe('POST /v1/action-requests/{id}/decisions: repeated votes', () => {
  it('answers a counted vote with vote.recorded true', async () => {
    const { call } = testApp();
    const { id, action_hash } = (await (
      await call('POST', '/v1/action-requests', { body: exportInput })
    ).json()) as { id: string; action_hash: string };

    const res = await call('POST', `/v1/action-requests/${id}/decisions`, {
      token: 'bob',
      body: { decision: 'approve', action_hash },
    });

    expect(res.status).toBe(200);
    expect((await res.json()) as Decided).toMatchObject({
      status: 'pending',
      approval: { received: 1 },
      vote: { approver: 'user:bob@example.gov', decision: 'approve', recorded: true },
    });
  });

  it('answers the same vote again with 200 and vote.recorded false, and records nothing', async () => {
    const { call, clock } = testApp();
    const { id, action_hash } = (await (
      await call('POST', '/v1/action-requests', { body: exportInput })
    ).json()) as { id: string; action_hash: string };
    const path = `/v1/action-requests/${id}`;
    const vote = { decision: 'approve', action_hash };
    const first = (await (
      await call('POST', `${path}/decisions`, { token: 'bob', body: vote })
    ).json()) as Decided;
    const eventsBefore = ((await (await call('GET', `${path}/audit`)).json()) as { events: unknown[] })
      .events;
    clock.advance(60);

    const res = await call('POST', `${path}/decisions`, {
      token: 'bob',
      body: { ...vote, comment: 'again' },
    });
    const again = (await res.json()) as Decided;
    const eventsAfter = ((await (await call('GET', `${path}/audit`)).json()) as { events: unknown[] }).events;

    expect(res.status).toBe(200);
    expect(again.vote).toEqual({ ...first.vote, recorded: false });
    expect(again.approval.received).toBe(1);
    expect(again.approval.votes).toHaveLength(1);
    expect(eventsAfter).toEqual(eventsBefore);
  });

  it('refuses a vote the other way after voting with 409 vote_already_cast, and records nothing', async () => {
    const { call } = testApp();
    const { id, action_hash } = (await (
      await call('POST', '/v1/action-requests', { body: exportInput })
    ).json()) as { id: string; action_hash: string };
    const path = `/v1/action-requests/${id}`;
    await call('POST', `${path}/decisions`, { token: 'bob', body: { decision: 'approve', action_hash } });

    const res = await call('POST', `${path}/decisions`, {
      token: 'bob',
      body: { decision: 'reject', comment: 'changed my mind', action_hash },
    });
    const after = (await (await call('GET', path)).json()) as Decided;

    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({
      error: 'vote_already_cast',
      message: expect.stringContaining('user:bob@example.gov already voted to approve'),
      details: { decision: 'approve' },
    });
    expect(after.status).toBe('pending');
    expect(after.approval.votes).toHaveLength(1);
  });
});

describe('POST /v1/action-requests/{id}/decisions: comments', () => {
  it('refuses a rejection whose comment has no visible text, and records nothing', async () => {
    const { call, store } = testApp();
    const { id, action_hash } = (await (
      await call('POST', '/v1/action-requests', { body: exportInput })
    ).json()) as { id: string; action_hash: string };
    for (const comment of ['\u200b', ' \u200d\u2060 ', '\u0301', '\u202e\u0007']) {
      const res = await call('POST', `/v1/action-requests/${id}/decisions`, {
        token: 'bob',
        body: { decision: 'reject', comment, action_hash },
      });
      expect(res.status, JSON.stringify(comment)).toBe(400);
      expect(((await res.json()) as { message: string }).message).toMatch(/visible text/);
    }
    expect((await store.get(id))?.status).toBe('pending');
    expect((await store.listEvents(id)).map((e) => e.type)).not.toContain('review.recorded');
    const res = await call('POST', `/v1/action-requests/${id}/decisions`, {
      token: 'bob',
      body: { decision: 'reject', comment: '\u200bno ticket', action_hash },
    });
    expect(res.status).toBe(200);
  });
});

describe('POST /v1/action-requests/{id}/decisions: narrow_to', () => {
  const GRANT = {
    type: 'aws_sts' as const,
    role: 'exporter',
    actions: ['s3:GetObject', 's3:ListBucket'],
    resources: ['arn:aws:s3:::exports/a.csv', 'arn:aws:s3:::exports/b.csv'],
    window_seconds: 600,
  };

  /** A policy that asks two approvals with GRANT, and denies narrowed windows under a minute. */
  function setup() {
    const seen: PolicyInput[] = [];
    const app = testApp((input) => {
      seen.push(input);
      const short = input.narrowing !== undefined && input.narrowing.window_seconds < 60;
      return decision(
        short
          ? {
              outcome: 'deny',
              reasons: [{ code: 'too_short', message: 'A window under a minute is no use.' }],
            }
          : { grant: GRANT },
      );
    });
    return { ...app, seen };
  }

  async function submitted(call: ReturnType<typeof testApp>['call']) {
    return (await (await call('POST', '/v1/action-requests', { body: exportInput })).json()) as {
      id: string;
      action_hash: string;
    };
  }

  it('hands the narrowed terms to the policy as input.narrowing and records the vote with them', async () => {
    const { call, seen } = setup();
    const { id, action_hash } = await submitted(call);

    const res = await call('POST', `/v1/action-requests/${id}/decisions`, {
      token: 'bob',
      body: {
        decision: 'approve',
        action_hash,
        narrow_to: { actions: ['s3:GetObject'], window_seconds: 120 },
      },
    });

    expect(res.status).toBe(200);
    const body = (await res.json()) as { vote: { terms: Record<string, unknown> } };
    expect(body.vote.terms).toMatchObject({
      actions: ['s3:GetObject'],
      resources: GRANT.resources,
      window_seconds: 120,
    });
    expect(seen.at(-1)?.narrowing).toMatchObject({
      request_id: id,
      approver: 'user:bob@example.gov',
      actions: ['s3:GetObject'],
      resources: GRANT.resources,
      window_seconds: 120,
      terms_hash: body.vote.terms.terms_hash,
      asked: { actions: GRANT.actions, resources: GRANT.resources, window_seconds: 600 },
    });
    const seenByAgent = (await (await call('GET', `/v1/action-requests/${id}`)).json()) as {
      agent_message: string;
    };
    expect(seenByAgent.agent_message).toContain('1 of those approvals cover less than you asked');
  });

  it('refuses a vote the policy denies on the narrowed terms with 403 narrowing_denied, recording nothing', async () => {
    const { call } = setup();
    const { id, action_hash } = await submitted(call);
    const path = `/v1/action-requests/${id}`;
    const before = ((await (await call('GET', `${path}/audit`)).json()) as { events: unknown[] }).events;

    const res = await call('POST', `${path}/decisions`, {
      token: 'bob',
      body: { decision: 'approve', action_hash, narrow_to: { window_seconds: 30 } },
    });

    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({
      error: 'narrowing_denied',
      message: expect.stringContaining('A window under a minute is no use.'),
    });
    const after = ((await (await call('GET', `${path}/audit`)).json()) as { events: unknown[] }).events;
    expect(after).toEqual(before);
  });

  it.each([
    [{ decision: 'reject', comment: 'no', narrow_to: { window_seconds: 120 } }, /approvals only/],
    [
      { decision: 'approve', narrow_to: { resources: ['arn:aws:s3:::exports/c.csv'] } },
      /arn:aws:s3:::exports\/c.csv.{0,4} was not asked for/,
    ],
    [{ decision: 'approve', narrow_to: { window_seconds: 601 } }, /window_seconds 601/],
    [{ decision: 'approve', narrow_to: { window_seconds: 'soon' } }, /window_seconds/],
    [{ decision: 'approve', narrow_to: { actions: [] } }, /at least one action/],
    [{ decision: 'approve', narrow_to: { grant: 'all' } }, /grant/],
  ])('answers 400 naming what to fix for %j', async (body, message) => {
    const { call } = setup();
    const { id, action_hash } = await submitted(call);

    const res = await call('POST', `/v1/action-requests/${id}/decisions`, {
      token: 'bob',
      body: { ...body, action_hash },
    });

    expect(res.status).toBe(400);
    expect(JSON.stringify(await res.json())).toMatch(message);
  });

  it('answers a stale action hash with 409 before reading the terms', async () => {
    const { call } = setup();
    const { id } = await submitted(call);

    const res = await call('POST', `/v1/action-requests/${id}/decisions`, {
      token: 'bob',
      body: { decision: 'reject', action_hash: `sha256:${'0'.repeat(64)}`, narrow_to: { actions: ['x:Y'] } },
    });

    expect(res.status).toBe(409);
    expect(((await res.json()) as { error: string }).error).toBe('stale_action_hash');
  });

  it('refuses to narrow a request whose grant has no scope', async () => {
    const { call } = testApp();
    const { id, action_hash } = await submitted(call);

    const res = await call('POST', `/v1/action-requests/${id}/decisions`, {
      token: 'bob',
      body: { decision: 'approve', action_hash, narrow_to: { window_seconds: 10 } },
    });

    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message).toMatch(/has no scope to narrow/);
  });

  it('refuses the requester (who may not vote) before the policy hears of the narrowing', async () => {
    const { call, seen } = setup();
    const { id, action_hash } = await submitted(call);
    const evaluations = seen.length;

    const res = await call('POST', `/v1/action-requests/${id}/decisions`, {
      token: 'agent',
      body: { decision: 'approve', action_hash, narrow_to: { window_seconds: 120 } },
    });

    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: string }).error).toBe('self_approval');
    expect(seen.length).toBe(evaluations);
  });
});
