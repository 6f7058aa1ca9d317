/** Identities at the HTTP edge: canonical principals in bodies, declared delegation. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { testApp } from '../../support/app.ts';
import { exportInput } from '../../support/fixtures.ts';

async function errorOf(response: Response) {
  const body = (await response.json()) as { error: string; message: string; details?: unknown };
  return { status: response.status, ...body };
}

const withBehalf = (onBehalfOf: unknown) => ({
  ...exportInput,
  context: { justification: 'Quarterly reconciliation, CHG-4821', on_behalf_of: onBehalfOf },
});

describe('identities at the HTTP edge', () => {
  it.each([
    ['user:Alice@example.gov', 'user:alice@example.gov'],
    ['user:alice@EXAMPLE.GOV', 'user:alice@example.gov'],
    ['user:alice@example.gov.', 'user:alice@example.gov'],
    ['human:alice@example.gov', 'user:alice@example.gov'],
  ])('answers 400 for on_behalf_of %j, naming the canonical form', async (raw, canonical) => {
    const { call, store } = testApp();
    const res = await call('POST', '/v1/action-requests', { body: withBehalf(raw) });
    const error = await errorOf(res);
    expect(error).toMatchObject({ status: 400, error: 'invalid_request' });
    expect(error.message).toContain(`write "${canonical}"`);
    expect((await store.listByStatus('pending', { limit: 10 })).items).toEqual([]);
  });

  it('answers 400 for an on_behalf_of with a look-alike letter, whatever the letter', async () => {
    const { call } = testApp();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('\u0430', '\u0435', '\u200b', '\u202e', '\uff4c'),
        fc.nat({ max: 4 }),
        async (odd, i) => {
          const forged = `user:${'alice'.slice(0, i)}${odd}${'alice'.slice(i + 1)}@example.gov`;
          const res = await call('POST', '/v1/action-requests', { body: withBehalf(forged) });
          expect((await errorOf(res)).message).toMatch(/printable ASCII only/);
        },
      ),
      { numRuns: 15 },
    );
  });

  it('refuses an undeclared on_behalf_of with 403 that says what to declare, audits it, and opens nothing', async () => {
    const { call, store } = testApp();
    const res = await call('POST', '/v1/action-requests', { body: withBehalf('user:bob@example.gov') });
    const error = await errorOf(res);
    expect(error).toMatchObject({
      status: 403,
      error: 'undeclared_delegation',
      details: { field: 'context.on_behalf_of', got: 'user:bob@example.gov' },
    });
    expect(error.message).toContain(
      'agents["agent:demo-exporter"].acts_for must list "user:bob@example.gov"',
    );

    // Nobody is asked: nothing pending, and bob (a data owner) has nothing to review.
    expect((await store.listByStatus('pending', { limit: 10 })).items).toEqual([]);
    const bobsQueue = (await (
      await call('GET', '/v1/action-requests?status=pending', { token: 'bob' })
    ).json()) as {
      items: unknown[];
    };
    expect(bobsQueue.items).toEqual([]);

    // The refusal is on the record, with its own chain.
    const id = (error.details as { request_id: string }).request_id;
    const audit = (await (await call('GET', `/v1/action-requests/${id}/audit`)).json()) as {
      events: { type: string; actor: string; data: Record<string, unknown> }[];
      verification: { ok: boolean };
    };
    expect(audit.events.map((e) => e.type)).toEqual(['request.submitted', 'request.denied']);
    expect(audit.events[1]).toMatchObject({
      actor: 'system:gateway',
      data: { reasons: [{ code: 'undeclared_delegation' }] },
    });
    expect(audit.verification.ok).toBe(true);
  });

  it('accepts the human policy data declares for the agent', async () => {
    const { call } = testApp();
    const res = await call('POST', '/v1/action-requests', { body: withBehalf('user:alice@example.gov') });
    expect(res.status).toBe(202);
  });
});
