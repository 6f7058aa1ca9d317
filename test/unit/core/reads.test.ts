/**
 * Each mutation reads the request once (the read that checks visibility is the one that decides),
 * and reads again only after losing a race. Over a real SQLite store (in memory).
 */
import { describe, expect, it } from 'vitest';
import { SqliteRequestStore } from '../../../functions/adapters/sqlite/sqlite-store.ts';
import { ulidIds } from '../../../functions/adapters/system/system.ts';
import { StaleStateError } from '../../../functions/core/errors.ts';
import type { RequestStore, Transition } from '../../../functions/core/ports/store.port.ts';
import { ApprovalService } from '../../../functions/core/service.ts';
import { decision, exportInput, fixedPolicy, ManualClock } from '../../support/fixtures.ts';

const AGENT = 'agent:demo-exporter';
const BOB = 'user:bob@example.gov';
const CAROL = 'user:carol@example.gov';

/** Counts reads; `race` makes the next commits fail as if another writer had won just before. */
function countingStore(inner: RequestStore) {
  const store = {
    reads: 0,
    race: 0,
    commit: async (t: Transition) => {
      if (store.race > 0) {
        store.race--;
        throw new StaleStateError('another writer won');
      }
      await inner.commit(t);
    },
    get: (id: string) => {
      store.reads++;
      return inner.get(id);
    },
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

function setup(answer = decision()) {
  const store = countingStore(new SqliteRequestStore({ path: ':memory:' }));
  const service = new ApprovalService({
    store,
    policy: fixedPolicy(answer),
    clock: new ManualClock(),
    ids: ulidIds(),
    sleep: async () => {},
  });
  return { store, service };
}

const vote = (actionHash: string) => ({ decision: 'approve' as const, actionHash, channel: 'api' });

describe('Class: ApprovalService, reads per mutation', () => {
  it('reads the request once for a vote, a cancel, a redemption and an outcome', async () => {
    const { store, service } = setup();
    const { request } = await service.submit(AGENT, exportInput);
    const cancelled = (await service.submit(AGENT, { ...exportInput, context: {} })).request;

    store.reads = 0;
    await service.review(request.id, BOB, vote(request.actionHash));
    expect(store.reads).toBe(1);

    store.reads = 0;
    await service.cancel(cancelled.id, AGENT);
    expect(store.reads).toBe(1);

    await service.review(request.id, CAROL, vote(request.actionHash));
    store.reads = 0;
    await service.redeem(request.id, AGENT);
    expect(store.reads).toBe(1);

    store.reads = 0;
    await service.reportOutcome(request.id, AGENT, { status: 'succeeded' });
    expect(store.reads).toBe(1);
  });

  it('reads again only after losing a race, and then decides on what it read', async () => {
    const { store, service } = setup();
    const { request } = await service.submit(AGENT, exportInput);
    store.reads = 0;
    store.race = 1;
    // A lost race: the service checks whether its write landed (one read), then reads and decides again.
    const { request: after } = await service.review(request.id, BOB, vote(request.actionHash));
    expect(store.reads).toBe(3);
    expect(after.approval?.votes.map((v) => v.approver)).toEqual([BOB]);
  });

  it('tells someone who may not see the request that it does not exist, with one read and no write', async () => {
    const { store, service } = setup();
    const { request } = await service.submit(AGENT, exportInput);
    const before = (await store.listEvents(request.id)).length;
    store.reads = 0;
    await expect(
      service.review(request.id, 'user:mallory@example.gov', vote(request.actionHash)),
    ).rejects.toMatchObject({ code: 'not_found' });
    await expect(service.cancel(request.id, 'user:mallory@example.gov')).rejects.toMatchObject({
      code: 'not_found',
    });
    expect(store.reads).toBe(2);
    expect(await store.listEvents(request.id)).toHaveLength(before);
  });
});
