/** GET /v1/action-requests: pages with a cursor, and the pending view of an approver. */
import { describe, expect, it } from 'vitest';
import { testApp } from '../../support/app.ts';
import { exportInput } from '../../support/fixtures.ts';

interface List {
  items: { id: string; action_hash: string }[];
  count: number;
  cursor?: string;
}

describe('HTTP application, listing requests', () => {
  it('shows an approver only the pending requests awaiting its vote, and all with include_voted=true', async () => {
    const { call } = testApp();
    const submitted: { id: string; action_hash: string }[] = [];
    for (let i = 0; i < 2; i++) {
      submitted.push(
        (await (await call('POST', '/v1/action-requests', { body: exportInput })).json()) as List['items'][0],
      );
    }
    const [first, second] = submitted as [(typeof submitted)[0], (typeof submitted)[0]];
    const vote = await call('POST', `/v1/action-requests/${first.id}/decisions`, {
      token: 'bob',
      body: { decision: 'approve', action_hash: first.action_hash },
    });
    expect(vote.status).toBe(200);

    const list = async (query: string, token: 'bob' | 'carol') =>
      (await (await call('GET', `/v1/action-requests?${query}`, { token })).json()) as List;
    expect((await list('status=pending', 'bob')).items.map((i) => i.id)).toEqual([second.id]);
    expect((await list('status=pending&include_voted=true', 'bob')).items.map((i) => i.id)).toEqual([
      second.id,
      first.id,
    ]);
    expect((await list('status=pending', 'carol')).items.map((i) => i.id)).toEqual([second.id, first.id]);
  });

  it('pages through every request with the cursor, and ends without one', async () => {
    const { call } = testApp();
    const made: string[] = [];
    for (let i = 0; i < 5; i++) {
      made.push(
        (
          (await (
            await call('POST', '/v1/action-requests', { body: exportInput })
          ).json()) as List['items'][0]
        ).id,
      );
    }
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const query = `status=pending&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const page = (await (
        await call('GET', `/v1/action-requests?${query}`, { token: 'bob' })
      ).json()) as List;
      expect(page.count).toBe(page.items.length);
      seen.push(...page.items.map((i) => i.id));
      cursor = page.cursor;
    } while (cursor);
    expect(seen).toEqual([...made].reverse());
  });

  it.each([
    [
      'an earlier form (base64url JSON)',
      Buffer.from('["2026-11-29T00:00:00.000Z","ar_01JD0000000000000000000000"]').toString('base64url'),
    ],
    ['no request id', '1764374400000.'],
    ['a time beyond any instant', '9999999999999999.ar_01JD0000000000000000000000'],
    ['a time that is not a number', '2026-11-29.ar_01JD0000000000000000000000'],
    ['an id that is not a request id', '1764374400000.ar_short'],
    ['three parts', '1764374400000.ar_01JD0000000000000000000000.x'],
  ])('answers 400 naming the cursor for one it did not issue: %s', async (_case, cursor) => {
    const { call } = testApp();
    const res = await call('GET', `/v1/action-requests?cursor=${encodeURIComponent(cursor)}`, {
      token: 'bob',
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      error: 'invalid_request',
      details: { issues: [{ path: 'cursor', message: expect.stringContaining('start again without it') }] },
    });
  });
});
