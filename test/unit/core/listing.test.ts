/**
 * Listing requests: bounded pages with a cursor, and the approver's pending view that leaves out
 * what the approver has voted on already. Over a real SQLite store (in memory).
 */
import { describe, expect, it } from 'vitest';
import { SqliteRequestStore } from '../../../functions/adapters/sqlite/sqlite-store.ts';
import { ulidIds } from '../../../functions/adapters/system/system.ts';
import type { RequestStore } from '../../../functions/core/ports/store.port.ts';
import { ApprovalService } from '../../../functions/core/service.ts';
import { decision, exportInput, fixedPolicy, ManualClock } from '../../support/fixtures.ts';

const AGENT = 'agent:demo-exporter';
const BOB = 'user:bob@example.gov';
const CAROL = 'user:carol@example.gov';

/** Counts the store's listing calls, so a test can see how much one listing reads. */
function countingStore(inner: RequestStore): RequestStore & { listCalls: number } {
  const store = {
    listCalls: 0,
    commit: (t: Parameters<RequestStore['commit']>[0]) => inner.commit(t),
    get: (id: string) => inner.get(id),
    getIdempotency: (r: string, k: string) => inner.getIdempotency(r, k),
    listEvents: (id: string) => inner.listEvents(id),
    countPending: (r: string, n: number) => inner.countPending(r, n),
    listByStatus: (...args: Parameters<RequestStore['listByStatus']>) => {
      store.listCalls++;
      return inner.listByStatus(...args);
    },
    listPendingForGroups: (...args: Parameters<RequestStore['listPendingForGroups']>) => {
      store.listCalls++;
      return inner.listPendingForGroups(...args);
    },
    listVisible: (...args: Parameters<RequestStore['listVisible']>) => {
      store.listCalls++;
      return inner.listVisible(...args);
    },
  };
  return store;
}

function setup(options: { listScanBudget?: number } = {}) {
  const store = countingStore(new SqliteRequestStore({ path: ':memory:' }));
  const clock = new ManualClock();
  const service = new ApprovalService({
    store,
    policy: fixedPolicy(decision()),
    clock,
    ids: ulidIds(),
    ...options,
  });
  const submit = async (onBehalfOf = 'user:alice@example.gov') => {
    clock.advance(1);
    const { request } = await service.submit(AGENT, {
      ...exportInput,
      context: { ...exportInput.context, on_behalf_of: onBehalfOf },
    });
    return request;
  };
  return { store, service, submit };
}

describe('Class: ApprovalService, listing', () => {
  it('leaves out of an approver’s pending view the requests it has voted on, unless asked to keep them', async () => {
    const { service, submit } = setup();
    const first = await submit();
    const second = await submit();
    await service.review(first.id, BOB, {
      decision: 'approve',
      actionHash: first.actionHash,
      channel: 'api',
    });

    const bobs = await service.pendingFor(BOB);
    expect(bobs.items.map((r) => r.id)).toEqual([second.id]);
    const all = await service.pendingFor(BOB, { includeVoted: true });
    expect(all.items.map((r) => r.id)).toEqual([second.id, first.id]);
    // Carol has not voted: both still await her.
    expect((await service.list('pending', CAROL)).items.map((r) => r.id)).toEqual([second.id, first.id]);
  });

  it('pages with a cursor that continues right after the last request shown, losing none', async () => {
    const { service, submit } = setup();
    const made = [];
    for (let i = 0; i < 7; i++) made.push((await submit()).id);
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await service.list('pending', BOB, { limit: 3, ...(cursor ? { cursor } : {}) });
      expect(page.items.length).toBeLessThanOrEqual(3);
      seen.push(...page.items.map((r) => r.id));
      cursor = page.cursor;
      pages++;
    } while (cursor);
    expect(seen).toEqual([...made].reverse());
    expect(pages).toBe(3);
  });

  it('reads a bounded number of requests per call, and hands out a cursor to go on from there', async () => {
    const { store, service, submit } = setup({ listScanBudget: 5 });
    // One request Bob has not voted on, then twelve newer ones he has (each still needs a second
    // approval): his pending view, newest first, must skip the twelve without reading them all at once.
    const his = await submit();
    for (let i = 0; i < 12; i++) {
      const request = await submit();
      await service.review(request.id, BOB, {
        decision: 'approve',
        actionHash: request.actionHash,
        channel: 'api',
      });
    }

    store.listCalls = 0;
    const first = await service.pendingFor(BOB, { limit: 10 });
    expect(first.items).toEqual([]);
    expect(first.cursor).toBeDefined();
    expect(store.listCalls).toBe(1);

    const ids: string[] = [];
    let cursor = first.cursor;
    let calls = 1;
    while (cursor) {
      const page = await service.pendingFor(BOB, { limit: 10, cursor });
      ids.push(...page.items.map((r) => r.id));
      cursor = page.cursor;
      calls++;
    }
    expect(ids).toEqual([his.id]);
    // 13 requests at most 5 per call: three calls in all, never a read of everything at once.
    expect(calls).toBe(3);
  });

  it('lists soonest deadline first when asked, with a cursor that keeps that order', async () => {
    const store = new SqliteRequestStore({ path: ':memory:' });
    const clock = new ManualClock();
    let timeout = 4000;
    const service = new ApprovalService({
      store,
      // Each submission waits less than the one before: the newest expires first.
      policy: {
        ...fixedPolicy(decision()),
        evaluate: () => {
          timeout -= 100;
          return decision({
            approval: { groups: ['data-owners'], min_approvals: 1, timeout_seconds: timeout },
          });
        },
      },
      clock,
      ids: ulidIds(),
    });
    const made: string[] = [];
    for (let i = 0; i < 5; i++) {
      clock.advance(1);
      made.push((await service.submit(AGENT, exportInput)).request.id);
    }
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await service.pendingFor(BOB, {
        limit: 2,
        order: 'deadline',
        ...(cursor ? { cursor } : {}),
      });
      seen.push(...page.items.map((r) => r.id));
      cursor = page.cursor;
    } while (cursor);
    expect(seen).toEqual([...made].reverse());
  });

  it('reads nothing for a caller who belongs to no group', async () => {
    const { store, service, submit } = setup();
    await submit();
    store.listCalls = 0;
    expect(await service.pendingFor('user:stranger@example.gov')).toEqual({ items: [] });
    expect(store.listCalls).toBe(0);
  });

  it('lists the decided requests a caller may see from its own keys, in one read however many others exist', async () => {
    const { store, service, submit } = setup();
    const others: string[] = [];
    for (let i = 0; i < 30; i++) {
      const request = await submit();
      await service.cancel(request.id, AGENT);
      others.push(request.id);
    }
    const mine: string[] = [];
    for (let i = 0; i < 3; i++) {
      const { request } = await service.submit('agent:quiet', {
        ...exportInput,
        context: { justification: 'its own' },
      });
      await service.cancel(request.id, 'agent:quiet');
      mine.push(request.id);
    }

    store.listCalls = 0;
    const page = await service.list('cancelled', 'agent:quiet', { limit: 10 });
    expect(page).toEqual({ items: expect.any(Array) });
    expect(page.items.map((r) => r.id)).toEqual([...mine].reverse());
    expect(store.listCalls).toBe(1);
    // Its owner sees what it sees, and so do the approving group's members and the auditors.
    expect((await service.list('cancelled', 'user:alice@example.gov', { limit: 50 })).items).toHaveLength(30);
    expect((await service.list('cancelled', BOB, { limit: 50 })).items).toHaveLength(33);
    expect((await service.list('cancelled', 'user:audrey@example.gov', { limit: 50 })).items).toHaveLength(
      33,
    );
    expect((await service.list('cancelled', 'user:stranger@example.gov')).items).toEqual([]);
  });

  it('refuses a cursor it did not issue', async () => {
    const { service } = setup();
    await expect(service.list('approved', BOB, { cursor: 'bm90LWEtY3Vyc29y' })).rejects.toMatchObject({
      code: 'invalid_request',
    });
  });
});
