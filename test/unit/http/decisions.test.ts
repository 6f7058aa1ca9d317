import { describe, expect, it } from 'vitest';
import { testApp } from '../../support/app.ts';
import { exportInput } from '../../support/fixtures.ts';

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
