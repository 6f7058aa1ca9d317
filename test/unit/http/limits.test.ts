import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, limitsFor } from '../../../functions/core/limits.ts';
import { testApp } from '../../support/app.ts';
import { directory, exportInput } from '../../support/fixtures.ts';

const WINDOW_MS = 60_000;
/** 20 s into a one-minute window. */
const clockStart = Math.floor(Date.now() / WINDOW_MS) * WINDOW_MS + 20_000;

async function errorOf(res: Response) {
  return {
    status: res.status,
    retryAfter: res.headers.get('retry-after'),
    ...((await res.json()) as object),
  };
}

describe('Limits: calls and submissions per minute, open pending requests', () => {
  it('answers 429 with Retry-After once a principal is over its calls per minute, counting each principal apart', async () => {
    const { call, clock } = testApp(undefined, { limits: { callsPerMinute: 3 }, clockStart });
    for (let i = 0; i < 3; i++)
      expect((await call('GET', '/v1/action-requests', { token: 'bob' })).status).toBe(200);

    const refused = await errorOf(await call('GET', '/v1/action-requests', { token: 'bob' }));
    expect(refused).toMatchObject({ status: 429, retryAfter: '40', error: 'rate_limited' });
    expect((refused as unknown as { message: string }).message).toMatch(
      /limit of 3 API calls per minute; retry after 40 s/,
    );
    expect((await call('GET', '/v1/action-requests', { token: 'carol' })).status).toBe(200);
    expect((await call('GET', '/healthz', { token: 'bob' })).status).toBe(200);

    clock.advance(40);
    expect((await call('GET', '/v1/action-requests', { token: 'bob' })).status).toBe(200);
  });

  it('counts new submissions per minute, but not a replay of the same Idempotency-Key', async () => {
    const { call } = testApp(undefined, { limits: { submissionsPerMinute: 2 }, clockStart });
    const headers = { 'idempotency-key': 'flood-1' };
    expect((await call('POST', '/v1/action-requests', { body: exportInput, headers })).status).toBe(202);
    expect((await call('POST', '/v1/action-requests', { body: exportInput, headers })).status).toBe(202);
    expect((await call('POST', '/v1/action-requests', { body: exportInput })).status).toBe(202);
    expect(await errorOf(await call('POST', '/v1/action-requests', { body: exportInput }))).toMatchObject({
      status: 429,
      error: 'rate_limited',
      retryAfter: '40',
    });
  });

  it('refuses a principal known over its submissions per minute before reading its body: an invalid body gets 429, not 400', async () => {
    const { call } = testApp(undefined, { limits: { submissionsPerMinute: 1 }, clockStart });
    const json = { 'content-type': 'application/json' };
    const invalid = { raw: '{"action": {"name": "data.export", "name": "logs.tail"', headers: json };
    // Under its limit, the same bytes are read and refused as the invalid JSON they are.
    expect((await call('POST', '/v1/action-requests', invalid)).status).toBe(400);
    expect((await call('POST', '/v1/action-requests', { body: exportInput })).status).toBe(202);
    expect((await call('POST', '/v1/action-requests', { body: exportInput })).status).toBe(429);

    // Now known over its limit: refused before the body is parsed, with Retry-After.
    expect(await errorOf(await call('POST', '/v1/action-requests', invalid))).toMatchObject({
      status: 429,
      error: 'rate_limited',
      retryAfter: '40',
    });
    // A submission with an Idempotency-Key still reaches the store, so a replay stays free.
    expect(
      (
        await call('POST', '/v1/action-requests', {
          ...invalid,
          headers: { ...json, 'idempotency-key': 'replay-1' },
        })
      ).status,
    ).toBe(400);
    // Another principal's submissions, and this one's other calls, go on.
    expect(
      (
        await call('POST', '/v1/action-requests', {
          token: 'other',
          body: { ...exportInput, context: { justification: 'the other agent' } },
        })
      ).status,
    ).toBe(202);
    expect((await call('GET', '/v1/action-requests?status=approved')).status).toBe(200);
  });

  it("refuses an agent past its open pending cap, while another agent's request reaches the approvers' first page", async () => {
    const { call, store } = testApp(undefined, { limits: { maxPending: 5 }, clockStart });
    const flood: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await call('POST', '/v1/action-requests', { body: exportInput });
      expect(res.status).toBe(202);
      flood.push(((await res.json()) as { id: string }).id);
    }
    const refused = await errorOf(await call('POST', '/v1/action-requests', { body: exportInput }));
    expect(refused).toMatchObject({ status: 429, error: 'too_many_pending', retryAfter: '60' });
    expect((await store.listByStatus('pending', { limit: 100 })).items).toHaveLength(5);

    const other = (await (
      await call('POST', '/v1/action-requests', {
        token: 'other',
        body: { ...exportInput, context: { justification: 'the other agent' } },
      })
    ).json()) as { id: string };
    const page = (await (await call('GET', '/v1/action-requests?limit=2', { token: 'bob' })).json()) as {
      items: { id: string }[];
    };
    expect(page.items[0]?.id).toBe(other.id);

    // A decision frees a place under the cap.
    expect((await call('POST', `/v1/action-requests/${flood[0]}/cancel`, { body: {} })).status).toBe(200);
    expect((await call('POST', '/v1/action-requests', { body: exportInput })).status).toBe(202);
  });

  it("takes policy data's limits for a principal over its default and the configured ones", () => {
    const withLimits = {
      ...directory,
      limits: {
        default: { calls_per_minute: 100 },
        principals: { 'agent:noisy': { submissions_per_minute: 1, max_pending: 2 } },
      },
    };
    expect(limitsFor('agent:noisy', DEFAULT_LIMITS, withLimits)).toEqual({
      callsPerMinute: 100,
      submissionsPerMinute: 1,
      maxPending: 2,
    });
    expect(limitsFor('agent:quiet', DEFAULT_LIMITS, withLimits)).toEqual({
      ...DEFAULT_LIMITS,
      callsPerMinute: 100,
    });
    expect(limitsFor('agent:quiet', DEFAULT_LIMITS, directory)).toEqual(DEFAULT_LIMITS);
  });
});

describe('Class: RateLimits', () => {
  it('refuses calls over the limit without another counter write until the window ends', async () => {
    const { RateLimits } = await import('../../../functions/core/limits.ts');
    const { SqliteRateCounter } = await import('../../../functions/adapters/sqlite/sqlite-rate-counter.ts');
    const { ManualClock } = await import('../../support/fixtures.ts');
    const inner = new SqliteRateCounter({ path: ':memory:' });
    let writes = 0;
    const counter = {
      increment: (key: string, start: number, expires: number) => {
        writes++;
        return inner.increment(key, start, expires);
      },
    };
    const clock = new ManualClock(clockStart);
    const limits = new RateLimits({
      counter,
      clock,
      base: { ...DEFAULT_LIMITS, callsPerMinute: 2 },
      directory: () => directory,
    });
    await limits.admitCall('agent:a');
    await limits.admitCall('agent:a');
    await expect(limits.admitCall('agent:a')).rejects.toMatchObject({
      code: 'rate_limited',
      retryAfterSeconds: 40,
    });
    expect(writes).toBe(3);
    for (let i = 0; i < 10; i++)
      await expect(limits.admitCall('agent:a')).rejects.toMatchObject({ code: 'rate_limited' });
    expect(writes).toBe(3);
    clock.advance(40);
    await limits.admitCall('agent:a');
    expect(writes).toBe(4);
    inner.close();
  });
});
