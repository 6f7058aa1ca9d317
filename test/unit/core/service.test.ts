/**
 * The service when a store reports a lost race for a write that in fact landed (a resend after a
 * lost answer, as the DynamoDB SDK does): the caller must get its result, not a false refusal.
 */
import { describe, expect, it } from 'vitest';
import { SqliteRequestStore } from '../../../functions/adapters/sqlite/sqlite-store.ts';
import { ulidIds } from '../../../functions/adapters/system/system.ts';
import { StaleStateError } from '../../../functions/core/errors.ts';
import type { ActionRequest } from '../../../functions/core/model.ts';
import type { CredentialBroker } from '../../../functions/core/ports/credentials.port.ts';
import type { RequestStore, Transition } from '../../../functions/core/ports/store.port.ts';
import { ApprovalService } from '../../../functions/core/service.ts';
import type { SessionPolicy } from '../../../functions/core/session-policy.ts';
import { exportInput, fixedPolicy, ManualClock, stsGrantDecision } from '../../support/fixtures.ts';

/** Commits, then answers as if the answer was lost and the resend failed its condition. */
function losingAnswers(inner: RequestStore): RequestStore & { lose: number } {
  const store = {
    lose: 0,
    commit: async (t: Transition) => {
      await inner.commit(t);
      if (store.lose > 0) {
        store.lose--;
        throw new StaleStateError('resend failed its condition');
      }
    },
    get: (id: string) => inner.get(id),
    getIdempotency: (r: string, k: string) => inner.getIdempotency(r, k),
    listEvents: (id: string) => inner.listEvents(id),
    countPending: (r: string, n: number) => inner.countPending(r, n),
    listByStatus: (...args: Parameters<RequestStore['listByStatus']>) => inner.listByStatus(...args),
    listVisible: (...args: Parameters<RequestStore['listVisible']>) => inner.listVisible(...args),
    listPendingForGroups: (...args: Parameters<RequestStore['listPendingForGroups']>) =>
      inner.listPendingForGroups(...args),
  };
  return store;
}

const broker: CredentialBroker = {
  issue: async (_request: ActionRequest, policy: SessionPolicy, now: Date) => ({
    type: 'aws_sts',
    accessKeyId: 'ASIATEST',
    secretAccessKey: 'secret',
    sessionToken: 'token',
    expiration: new Date(now.getTime() + 900_000).toISOString(),
    usableUntil: policy.usableUntil.toISOString(),
    sessionName: 'test-session',
  }),
};

describe('Class: ApprovalService, when a committed write is reported lost', () => {
  const setup = () => {
    const store = losingAnswers(new SqliteRequestStore({ path: ':memory:' }));
    const service = new ApprovalService({
      store,
      policy: fixedPolicy(stsGrantDecision()),
      clock: new ManualClock(),
      ids: ulidIds(),
      credentials: broker,
    });
    return { store, service };
  };

  it('returns the created request instead of a conflict', async () => {
    const { store, service } = setup();
    store.lose = 1;
    const { request, created } = await service.submit('agent:demo-exporter', exportInput);
    expect(created).toBe(true);
    expect(await store.get(request.id)).toEqual(request);
  });

  it('hands over the credentials of a redemption that landed, and only once', async () => {
    const { store, service } = setup();
    const { request } = await service.submit('agent:demo-exporter', exportInput);
    store.lose = 1;
    const redemption = await service.redeem(request.id, 'agent:demo-exporter');
    expect(redemption.credentials?.accessKeyId).toBe('ASIATEST');
    await expect(service.redeem(request.id, 'agent:demo-exporter')).rejects.toMatchObject({
      code: 'grant_already_redeemed',
    });
    const events = await store.listEvents(request.id);
    expect(events.filter((e) => e.type === 'grant.redeemed')).toHaveLength(1);
  });
});
