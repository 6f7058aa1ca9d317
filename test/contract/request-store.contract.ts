/**
 * The one contract every RequestStore adapter passes (SQLite, DynamoDB). Store-level rules first,
 * then the lifecycle races that the store's conditional writes must decide.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ulidIds } from '../../functions/adapters/system/system.ts';
import { verifyChain } from '../../functions/core/audit.ts';
import { canView, viewerKeysOf } from '../../functions/core/eligibility.ts';
import {
  GrantAlreadyRedeemedError,
  IdempotencyConflictError,
  IdempotencyKeyTakenError,
  PendingCapReachedError,
  StaleStateError,
  TerminalStateError,
  ValidationError,
} from '../../functions/core/errors.ts';
import * as lifecycle from '../../functions/core/lifecycle.ts';
import { type ActionRequest, type Directory, STATUSES, type Status } from '../../functions/core/model.ts';
import { cursorAfter } from '../../functions/core/paging.ts';
import type { RequestStore, Transition } from '../../functions/core/ports/store.port.ts';
import { ApprovalService } from '../../functions/core/service.ts';
import { decision, directory, exportInput, fixedPolicy, ManualClock, owners } from '../support/fixtures.ts';

export interface StoreUnderTest {
  readonly store: RequestStore;
  /** Raw reads that bypass the adapter's own read path. */
  readonly raw: {
    eventCount(requestId: string): Promise<number>;
    requestVersion(requestId: string): Promise<number | undefined>;
  };
  close(): Promise<void>;
}

const REQUESTER = 'agent:demo-exporter';

export function describeRequestStoreContract(name: string, make: () => Promise<StoreUnderTest>): void {
  describe(`RequestStore contract: ${name}`, () => {
    let sut: StoreUnderTest;
    let ids: ReturnType<typeof ulidIds>;
    beforeAll(async () => {
      sut = await make();
      ids = ulidIds();
    });
    afterAll(async () => {
      await sut?.close();
    });

    const newRequest = (overrides: Parameters<typeof decision>[0] = {}): Transition =>
      lifecycle.submit({
        id: ids.requestId(),
        subject: lifecycle.subjectOf(REQUESTER),
        input: exportInput,
        decision: decision(overrides),
        now: new Date('2026-11-22T10:00:00.000Z'),
      });

    const service = (clock = new ManualClock(), policy = decision()) =>
      new ApprovalService({
        store: sut.store,
        policy: fixedPolicy(policy),
        clock,
        ids,
        sleep: () => new Promise((resolve) => setImmediate(resolve)),
      });

    describe('store rules', () => {
      it('commits a new request with its events and reads both back unchanged', async () => {
        const created = newRequest();
        await sut.store.commit(created);
        expect(await sut.store.get(created.request.id)).toEqual(created.request);
        expect(await sut.store.listEvents(created.request.id)).toEqual(created.events);
        expect(await sut.raw.eventCount(created.request.id)).toBe(created.events.length);
      });

      it('stores any JSON the API accepts, unchanged: extreme numbers, empty keys, deep nesting', async () => {
        let deep: unknown = 'leaf';
        for (let i = 0; i < 30; i++) deep = { d: deep };
        const args = {
          bytes: 1e16,
          tiny: 5e-324,
          big: 1e200,
          '': 'empty key',
          deep,
          list: [[], {}, null, true],
        };
        const created = lifecycle.submit({
          id: ids.requestId(),
          subject: lifecycle.subjectOf(REQUESTER),
          input: { ...exportInput, action: { name: 'data.export', args } },
          decision: decision(),
          now: new Date('2026-11-22T10:00:00.000Z'),
        });
        await sut.store.commit(created);
        expect(await sut.store.get(created.request.id)).toEqual(created.request);
        const events = await sut.store.listEvents(created.request.id);
        expect(events).toEqual(created.events);
        expect(verifyChain(events).ok).toBe(true);
      });

      it('returns undefined for a request that does not exist', async () => {
        expect(await sut.store.get(ids.requestId())).toBeUndefined();
        expect(await sut.store.listEvents(ids.requestId())).toEqual([]);
      });

      it('refuses to create a request whose id exists, writing nothing', async () => {
        const created = newRequest();
        await sut.store.commit(created);
        await expect(sut.store.commit(created)).rejects.toBeInstanceOf(StaleStateError);
        expect(await sut.raw.eventCount(created.request.id)).toBe(created.events.length);
      });

      it('refuses a transition from a stale version, writing neither state nor events', async () => {
        const created = newRequest();
        await sut.store.commit(created);
        const first = lifecycle.cancel(created.request, REQUESTER, new Date('2026-11-22T10:01:00Z'));
        await sut.store.commit(first);
        const stale = lifecycle.recordNotification(
          created.request,
          { channel: 'slack', recipients: ['data-owners'] },
          new Date('2026-11-22T10:02:00Z'),
        );
        await expect(sut.store.commit(stale)).rejects.toBeInstanceOf(StaleStateError);
        expect(await sut.raw.requestVersion(created.request.id)).toBe(2);
        expect(await sut.raw.eventCount(created.request.id)).toBe(created.events.length + 1);
        expect((await sut.store.get(created.request.id))?.status).toBe('cancelled');
      });

      it('rolls back the state change when an audit event would overwrite an existing one', async () => {
        const created = newRequest();
        await sut.store.commit(created);
        const next = lifecycle.cancel(created.request, REQUESTER, new Date('2026-11-22T10:01:00Z'));
        const clash = created.events[0];
        if (!clash) throw new Error('fixture has no events');
        const forged: Transition = { ...next, events: [...next.events, clash] };
        await expect(sut.store.commit(forged)).rejects.toBeInstanceOf(StaleStateError);
        expect(await sut.raw.requestVersion(created.request.id)).toBe(1);
        expect(await sut.store.listEvents(created.request.id)).toEqual(created.events);
      });

      it('refuses a taken idempotency key and does not store the second request', async () => {
        const first = newRequest();
        const record = {
          requester: REQUESTER,
          key: `key-${first.request.id}`,
          requestId: first.request.id,
          bodyHash: 'sha256:1',
          createdAt: first.request.createdAt,
        };
        await sut.store.commit({ ...first, idempotency: record });
        expect(await sut.store.getIdempotency(REQUESTER, record.key)).toEqual(record);
        const second = newRequest();
        await expect(
          sut.store.commit({ ...second, idempotency: { ...record, requestId: second.request.id } }),
        ).rejects.toBeInstanceOf(IdempotencyKeyTakenError);
        expect(await sut.store.get(second.request.id)).toBeUndefined();
        expect(await sut.raw.eventCount(second.request.id)).toBe(0);
        expect(await sut.store.getIdempotency('agent:someone-else', record.key)).toBeUndefined();
      });

      it("counts a requester's pending requests, never more than asked, and not those decided", async () => {
        const requester = `agent:cap-${ids.requestId().toLowerCase()}`;
        const mine = [0, 1, 2].map(() =>
          lifecycle.submit({
            id: ids.requestId(),
            subject: lifecycle.subjectOf(requester),
            input: exportInput,
            decision: decision(),
            now: new Date('2026-11-22T10:00:00.000Z'),
          }),
        );
        for (const t of mine) await sut.store.commit(t);
        await sut.store.commit(newRequest());
        expect(await sut.store.countPending(requester, 10)).toBe(3);
        expect(await sut.store.countPending(requester, 2)).toBe(2);
        const first = mine[0] as Transition;
        await sut.store.commit(
          lifecycle.cancel(first.request, requester, new Date('2026-11-22T10:01:00.000Z')),
        );
        expect(await sut.store.countPending(requester, 10)).toBe(2);
        expect(await sut.store.countPending(`agent:nobody-${ids.requestId().toLowerCase()}`, 10)).toBe(0);
      });

      it('lists newest first when asked, and its cursor continues newest first', async () => {
        // Later than anything else the suite stores, so these three head the listing.
        const made = [1, 2, 3].map((second) =>
          lifecycle.submit({
            id: ids.requestId(),
            subject: lifecycle.subjectOf(REQUESTER),
            input: exportInput,
            decision: decision(),
            now: new Date(`2099-01-01T00:00:0${second}.000Z`),
          }),
        );
        for (const t of made) await sut.store.commit(t);
        const [oldest, middle, newest] = made.map((t) => t.request.id);
        const first = await sut.store.listByStatus('pending', { limit: 2, newestFirst: true });
        expect(first.items.map((r) => r.id)).toEqual([newest, middle]);
        expect(first.cursor).toBeDefined();
        const next = await sut.store.listByStatus('pending', {
          limit: 1,
          newestFirst: true,
          cursor: first.cursor as string,
        });
        expect(next.items.map((r) => r.id)).toEqual([oldest]);
      });

      it('lists requests by status, oldest first, one page at a time', async () => {
        const status = 'expired';
        const made: ActionRequest[] = [];
        for (let i = 0; i < 5; i++) {
          const created = newRequest();
          await sut.store.commit(created);
          const expired = lifecycle.expire(created.request, new Date('2026-11-22T12:00:00Z'));
          if (!expired) throw new Error('fixture did not expire');
          await sut.store.commit(expired);
          made.push(expired.request);
        }
        const seen: string[] = [];
        let cursor: string | undefined;
        do {
          const page = await sut.store.listByStatus(status, { limit: 2, ...(cursor ? { cursor } : {}) });
          expect(page.items.length).toBeLessThanOrEqual(2);
          seen.push(...page.items.map((r) => r.id));
          cursor = page.cursor;
        } while (cursor);
        const mine = seen.filter((id) => made.some((r) => r.id === id));
        expect(mine).toEqual(made.map((r) => r.id));
        expect(new Set(seen).size).toBe(seen.length);
      });

      it('continues a listing right after any request it listed, given cursorAfter(that request)', async () => {
        const status = 'cancelled';
        for (let i = 0; i < 4; i++) {
          // Same creation time for all: the id breaks the tie, in both stores alike.
          const created = newRequest();
          await sut.store.commit(created);
          await sut.store.commit(
            lifecycle.cancel(created.request, REQUESTER, new Date('2026-11-22T10:05:00Z')),
          );
        }
        const all: ActionRequest[] = [];
        let cursor: string | undefined;
        do {
          const page = await sut.store.listByStatus(status, { limit: 3, ...(cursor ? { cursor } : {}) });
          const last = page.items.at(-1);
          if (page.cursor && last) expect(page.cursor).toBe(cursorAfter(last));
          all.push(...page.items);
          cursor = page.cursor;
        } while (cursor);
        expect(all.length).toBeGreaterThanOrEqual(4);
        for (let i = 0; i < all.length - 1; i++) {
          const after = all[i] as ActionRequest;
          const next = await sut.store.listByStatus(status, { limit: 1, cursor: cursorAfter(after) });
          expect(next.items.map((r) => r.id)).toEqual([all[i + 1]?.id]);
        }
      });

      it('refuses a cursor it did not issue', async () => {
        await expect(sut.store.listByStatus('pending', { cursor: 'not-a-cursor' })).rejects.toBeInstanceOf(
          ValidationError,
        );
      });
    });

    describe('pending index by approving group, and the pending cap', () => {
      /** Every page of a pending listing, following cursors (a page may be short and continue). */
      const listAll = async (groups: readonly string[], order: 'newest' | 'deadline', limit = 1) => {
        const seen: string[] = [];
        let cursor: string | undefined;
        let pages = 0;
        do {
          const page = await sut.store.listPendingForGroups(groups, {
            limit,
            order,
            ...(cursor ? { cursor } : {}),
          });
          expect(page.items.length).toBeLessThanOrEqual(limit);
          seen.push(...page.items.map((r) => r.id));
          cursor = page.cursor;
          expect(++pages).toBeLessThan(100);
        } while (cursor);
        return seen;
      };
      const inGroups = (
        groups: string[],
        at: string,
        timeoutSeconds: number,
        more: { escalation?: string[]; requester?: string } = {},
      ): Transition =>
        lifecycle.submit({
          id: ids.requestId(),
          subject: lifecycle.subjectOf(more.requester ?? REQUESTER),
          input: exportInput,
          decision: decision({
            approval: {
              groups,
              min_approvals: 1,
              timeout_seconds: timeoutSeconds,
              ...(more.escalation ? { escalation_groups: more.escalation, escalate_after_seconds: 60 } : {}),
            },
          }),
          now: new Date(at),
        });

      it('lists only the groups asked, each request once, newest first or soonest deadline first', async () => {
        const tag = ids.requestId().toLowerCase();
        const [a, b, c] = [`a-${tag}`, `b-${tag}`, `c-${tag}`];
        const r1 = inGroups([a], '2026-11-22T10:00:01.000Z', 3600);
        const r2 = inGroups([a, b], '2026-11-22T10:00:02.000Z', 600);
        const r3 = inGroups([b], '2026-11-22T10:00:03.000Z', 7200);
        const r4 = inGroups([c], '2026-11-22T10:00:04.000Z', 60);
        for (const t of [r1, r2, r3, r4]) await sut.store.commit(t);
        const [id1, id2, id3] = [r1, r2, r3].map((t) => t.request.id);

        expect(await listAll([a], 'newest')).toEqual([id2, id1]);
        expect(await listAll([a, b], 'newest')).toEqual([id3, id2, id1]);
        expect(await listAll([a, b], 'newest', 10)).toEqual([id3, id2, id1]);
        expect(await listAll([b, a], 'deadline')).toEqual([id2, id1, id3]);
        expect(await listAll([`none-${tag}`], 'newest')).toEqual([]);
        expect(await listAll([], 'newest')).toEqual([]);
      });

      it('adds the escalation groups once escalated and drops a request from every group once decided', async () => {
        const tag = ids.requestId().toLowerCase();
        const [first, second] = [`first-${tag}`, `second-${tag}`];
        const created = inGroups([first], '2026-11-22T10:00:00.000Z', 3600, { escalation: [second] });
        await sut.store.commit(created);
        expect(await listAll([second], 'newest')).toEqual([]);
        const escalated = lifecycle.escalate(created.request, new Date('2026-11-22T10:02:00.000Z'));
        if (!escalated) throw new Error('fixture did not escalate');
        await sut.store.commit(escalated);
        expect(await listAll([second], 'newest')).toEqual([created.request.id]);
        expect(await listAll([first, second], 'deadline')).toEqual([created.request.id]);
        await sut.store.commit(
          lifecycle.cancel(escalated.request, REQUESTER, new Date('2026-11-22T10:03:00.000Z')),
        );
        expect(await listAll([first, second], 'newest')).toEqual([]);
        expect(await listAll([first, second], 'deadline')).toEqual([]);
      });

      it('never lets parallel submissions pass the pending cap, and frees a place when one is decided', async () => {
        const requester = `agent:flood-${ids.requestId().toLowerCase()}`;
        const cap = 5;
        const attempts = Array.from({ length: 20 }, () => ({
          ...inGroups(['data-owners'], '2026-11-22T10:00:00.000Z', 3600, { requester }),
          pendingCap: cap,
        }));
        const results = await Promise.allSettled(attempts.map((t) => sut.store.commit(t)));
        const landed = attempts.filter((_, i) => results[i]?.status === 'fulfilled');
        expect(landed).toHaveLength(cap);
        for (const result of results) {
          if (result.status === 'rejected') expect(result.reason).toBeInstanceOf(PendingCapReachedError);
        }
        for (const [i, t] of attempts.entries()) {
          if (results[i]?.status === 'rejected') {
            expect(await sut.store.get(t.request.id)).toBeUndefined();
            expect(await sut.raw.eventCount(t.request.id)).toBe(0);
          }
        }
        expect(await sut.store.countPending(requester, 100)).toBe(cap);

        const decided = landed[0] as Transition;
        await sut.store.commit(
          lifecycle.cancel(decided.request, requester, new Date('2026-11-22T10:01:00.000Z')),
        );
        expect(await sut.store.countPending(requester, 100)).toBe(cap - 1);
        const again = {
          ...inGroups(['data-owners'], '2026-11-22T10:02:00.000Z', 3600, { requester }),
          pendingCap: cap,
        };
        await sut.store.commit(again);
        const over = {
          ...inGroups(['data-owners'], '2026-11-22T10:02:00.000Z', 3600, { requester }),
          pendingCap: cap,
        };
        await expect(sut.store.commit(over)).rejects.toBeInstanceOf(PendingCapReachedError);
        // The cap concerns entering pending only: a request that is not pending is never refused by it.
        const allowed = {
          ...lifecycle.submit({
            id: ids.requestId(),
            subject: lifecycle.subjectOf(requester),
            input: exportInput,
            decision: decision({ outcome: 'allow' }),
            now: new Date('2026-11-22T10:03:00.000Z'),
          }),
          pendingCap: cap,
        };
        await sut.store.commit(allowed);
        expect(await sut.store.countPending(requester, 100)).toBe(cap);
      });
    });

    describe('index of decided requests by viewer key', () => {
      /** Every page of a viewer listing, following cursors (a page may be short and continue). */
      const listVisibleAll = async (keys: readonly string[], status: Status, limit = 2) => {
        const seen: string[] = [];
        let cursor: string | undefined;
        let pages = 0;
        do {
          const page = await sut.store.listVisible(keys, status, { limit, ...(cursor ? { cursor } : {}) });
          expect(page.items.length).toBeLessThanOrEqual(limit);
          for (const request of page.items) expect(request.status).toBe(status);
          seen.push(...page.items.map((r) => r.id));
          cursor = page.cursor;
          expect(++pages).toBeLessThan(200);
        } while (cursor);
        return seen;
      };
      /** The request moved to `status` by the store alone (the lifecycle's rules are tested elsewhere). */
      const moved = (request: ActionRequest, status: Status, withPrevious: boolean): Transition => ({
        request: { ...request, status, version: request.version + 1 },
        expectedVersion: request.version,
        events: [],
        ...(withPrevious ? { previous: request } : {}),
      });

      it('lists a decided request under its requester, the person it acts for and its groups, in its status only', async () => {
        const tag = ids.requestId().toLowerCase();
        const [agent, human, group, escalation] = [
          `agent:viewer-${tag}`,
          `user:human-${tag}@example.gov`,
          `g-${tag}`,
          `e-${tag}`,
        ];
        const created = lifecycle.submit({
          id: ids.requestId(),
          subject: lifecycle.subjectOf(agent),
          input: { ...exportInput, context: { ...exportInput.context, on_behalf_of: human } },
          decision: decision({
            approval: {
              groups: [group],
              escalation_groups: [escalation],
              escalate_after_seconds: 60,
              min_approvals: 1,
              timeout_seconds: 3600,
            },
          }),
          now: new Date('2026-11-22T10:00:00.000Z'),
        });
        await sut.store.commit(created);
        // Pending is listed by eligibility, never from this index.
        expect(await listVisibleAll([`p:${agent}`], 'pending')).toEqual([]);
        const cancelled = lifecycle.cancel(created.request, agent, new Date('2026-11-22T10:01:00.000Z'));
        await sut.store.commit(cancelled);
        const id = created.request.id;
        for (const key of [`p:${agent}`, `p:${human}`, `g:${group}`, `g:${escalation}`]) {
          expect(await listVisibleAll([key], 'cancelled')).toEqual([id]);
        }
        expect(await listVisibleAll([`p:${agent}`, `g:${group}`], 'cancelled')).toEqual([id]);
        expect(await listVisibleAll([`p:${agent}`], 'approved')).toEqual([]);
        expect(await listVisibleAll([`g:other-${tag}`], 'cancelled')).toEqual([]);
        expect(await listVisibleAll([], 'cancelled')).toEqual([]);
        // A later change of status moves every entry (written without `previous`: the store reads it).
        await sut.store.commit(moved(cancelled.request, 'expired', false));
        expect(await listVisibleAll([`p:${human}`], 'cancelled')).toEqual([]);
        expect(await listVisibleAll([`p:${human}`, `g:${escalation}`], 'expired')).toEqual([id]);
      });

      it('answers exactly what filtering every request by canView answers, on generated requests and directories', {
        timeout: 300_000,
      }, async () => {
        const users = ['u0', 'u1', 'u2', 'u3'];
        const agents = ['a0', 'a1', 'a2'];
        const groupNames = ['g0', 'g1', 'g2'];
        const subset = <T>(values: readonly T[]) => fc.subarray([...values]);
        const requestShape = fc.record({
          agent: fc.constantFrom(...agents),
          onBehalfOf: fc.option(fc.constantFrom(...users), { nil: undefined }),
          groups: fc.subarray(groupNames, { minLength: 1 }),
          escalation: subset(groupNames),
          auto: fc.constantFrom(undefined, 'allow' as const, 'deny' as const),
          status: fc.constantFrom(...STATUSES),
          withPrevious: fc.boolean(),
          offsetMs: fc.nat({ max: 3 }),
        });
        const world = fc.record({
          members: fc.record(Object.fromEntries(groupNames.map((g) => [g, subset([...users, ...agents])]))),
          owners: fc.record(Object.fromEntries(agents.map((a) => [a, subset(users)]))),
          requests: fc.array(requestShape, { minLength: 1, maxLength: 8 }),
        });
        await fc.assert(
          fc.asyncProperty(world, async ({ members, owners: owned, requests }) => {
            // Names unique to this run: the store is shared with the other runs and tests.
            const tag = ids.requestId().toLowerCase();
            const user = (u: string) => `user:${u}-${tag}@example.gov`;
            const agent = (a: string) => `agent:${a}-${tag}`;
            const group = (g: string) => `${g}-${tag}`;
            const named = (p: string) => (p.startsWith('u') ? user(p) : agent(p));
            const dir: Directory = {
              groups: Object.fromEntries(
                Object.entries(members).map(([g, ms]) => [group(g), (ms as string[]).map(named)]),
              ),
              identities: {},
              agents: Object.fromEntries(
                Object.entries(owned).map(([a, os]) => [agent(a), { owners: (os as string[]).map(user) }]),
              ),
            };
            const stored: ActionRequest[] = [];
            let at = Date.parse('2026-11-22T10:00:00.000Z');
            for (const shape of requests) {
              at += shape.offsetMs;
              const created = lifecycle.submit({
                id: ids.requestId(),
                subject: lifecycle.subjectOf(agent(shape.agent)),
                input: {
                  ...exportInput,
                  context: {
                    justification: 'generated',
                    ...(shape.onBehalfOf ? { on_behalf_of: user(shape.onBehalfOf) } : {}),
                  },
                },
                decision: shape.auto
                  ? decision({ outcome: shape.auto, approval: undefined })
                  : decision({
                      approval: {
                        groups: shape.groups.map(group),
                        escalation_groups: shape.escalation.map(group),
                        min_approvals: 1,
                        timeout_seconds: 3600,
                      },
                    }),
                now: new Date(at),
              });
              await sut.store.commit(created);
              let request = created.request;
              if (request.status !== shape.status) {
                const next = moved(request, shape.status, shape.withPrevious);
                await sut.store.commit(next);
                request = next.request;
              }
              stored.push(request);
            }
            const newestFirst = (a: ActionRequest, b: ActionRequest) =>
              a.createdAt === b.createdAt ? (a.id < b.id ? 1 : -1) : a.createdAt < b.createdAt ? 1 : -1;
            for (const principal of [...users.map(user), ...agents.map(agent)]) {
              for (const status of STATUSES.filter((s) => s !== 'pending')) {
                const expected = stored
                  .filter((r) => r.status === status && canView(r, principal, dir))
                  .sort(newestFirst)
                  .map((r) => r.id);
                const got = await listVisibleAll(viewerKeysOf(principal, dir), status);
                expect(got, `${principal} listing ${status}`).toEqual(expected);
              }
            }
          }),
          { numRuns: 12, seed: 20261129, endOnFailure: true },
        );
      });
    });

    describe('lifecycle races decided by the store', () => {
      it('counts exactly two of twenty concurrent approvals on a 2-of-N request', async () => {
        const svc = service();
        const { request } = await svc.submit(REQUESTER, exportInput);
        const voters = owners.slice(0, 20);
        const results = await Promise.allSettled(
          voters.map((approver) =>
            svc.review(request.id, approver, {
              decision: 'approve',
              actionHash: request.actionHash,
              channel: 'api',
            }),
          ),
        );
        const counted = results.filter((r) => r.status === 'fulfilled');
        const refused = results.filter((r) => r.status === 'rejected');
        expect(counted).toHaveLength(2);
        expect(refused).toHaveLength(18);
        for (const r of refused)
          expect((r as PromiseRejectedResult).reason).toBeInstanceOf(TerminalStateError);

        const { events, verification, request: final } = await svc.audit(request.id, REQUESTER);
        expect(verification.ok).toBe(true);
        expect(final.status).toBe('approved');
        expect(final.approval?.votes).toHaveLength(2);
        expect(events.filter((e) => e.type === 'request.approved')).toHaveLength(1);
        expect(events.filter((e) => e.type === 'review.recorded')).toHaveLength(2);
        expect(events.filter((e) => e.type === 'review.late')).toHaveLength(18);
      });

      it('ends in exactly one terminal state when the expiry timer races the deciding vote', async () => {
        for (let round = 0; round < 5; round++) {
          const clock = new ManualClock();
          const svc = service(clock);
          const { request } = await svc.submit(REQUESTER, exportInput);
          await svc.review(request.id, owners[0] ?? '', {
            decision: 'approve',
            actionHash: request.actionHash,
            channel: 'api',
          });
          clock.advance(3600 - 1); // within the timer's tolerance, before the vote deadline
          const [vote, expiry] = await Promise.allSettled([
            svc.review(request.id, owners[1] ?? '', {
              decision: 'approve',
              actionHash: request.actionHash,
              channel: 'api',
            }),
            svc.expire(request.id),
          ]);
          const { events, verification, request: final } = await svc.audit(request.id, REQUESTER);
          expect(verification.ok).toBe(true);
          const terminal = events.filter(
            (e) => e.type === 'request.approved' || e.type === 'request.expired',
          );
          expect(terminal).toHaveLength(1);
          expect(expiry.status).toBe('fulfilled');
          if (final.status === 'approved') {
            expect(vote.status).toBe('fulfilled');
          } else {
            expect(final.status).toBe('expired');
            expect(vote.status).toBe('rejected');
            expect(events.at(-1)?.type).toBe('review.late');
          }
        }
      });

      it('redeems a grant exactly once under twenty concurrent redemptions', async () => {
        const svc = service(new ManualClock(), decision({ outcome: 'allow', approval: undefined }));
        const { request } = await svc.submit(REQUESTER, exportInput);
        expect(request.status).toBe('approved');
        const results = await Promise.allSettled(
          Array.from({ length: 20 }, () => svc.redeem(request.id, REQUESTER)),
        );
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        for (const r of results.filter((x) => x.status === 'rejected')) {
          expect((r as PromiseRejectedResult).reason).toBeInstanceOf(GrantAlreadyRedeemedError);
        }
        const { events, verification } = await svc.audit(request.id, REQUESTER);
        expect(verification.ok).toBe(true);
        expect(events.filter((e) => e.type === 'grant.redeemed')).toHaveLength(1);
      });

      it('returns the original request for concurrent submissions with one idempotency key', async () => {
        const svc = service();
        const key = `idem-${ids.requestId()}`;
        const results = await Promise.all(
          Array.from({ length: 10 }, () => svc.submit(REQUESTER, exportInput, { idempotencyKey: key })),
        );
        const distinct = new Set(results.map((r) => r.request.id));
        expect(distinct.size).toBe(1);
        expect(results.filter((r) => r.created)).toHaveLength(1);
        const changed = {
          ...exportInput,
          context: { ...exportInput.context, justification: 'something else' },
        };
        await expect(svc.submit(REQUESTER, changed, { idempotencyKey: key })).rejects.toBeInstanceOf(
          IdempotencyConflictError,
        );
      });

      it('keeps every chain verifiable through a full lifecycle', async () => {
        const clock = new ManualClock();
        const svc = service(clock);
        const { request } = await svc.submit(REQUESTER, exportInput);
        await svc.recordNotification(request.id, { channel: 'slack', recipients: ['data-owners'] });
        clock.advance(1200);
        await svc.escalate(request.id);
        const hash = request.actionHash;
        await svc.review(request.id, 'user:lead@example.gov', {
          decision: 'approve',
          actionHash: hash,
          channel: 'api',
        });
        await svc.review(request.id, owners[0] ?? '', {
          decision: 'approve',
          actionHash: hash,
          channel: 'slack',
        });
        await svc.redeem(request.id, REQUESTER);
        await svc.reportOutcome(request.id, REQUESTER, { status: 'succeeded' });
        // Read by an auditor who took no part in the request (a fixture fact, checked as such).
        const auditor = 'user:audrey@example.gov';
        expect(directory.groups.auditors).toContain(auditor);
        const { events, verification } = await svc.audit(request.id, auditor);
        expect(verification).toMatchObject({ ok: true, count: events.length });
        expect(events.map((e) => e.type)).toEqual([
          'request.submitted',
          'policy.evaluated',
          'approval.requested',
          'notification.sent',
          'request.escalated',
          'review.recorded',
          'review.recorded',
          'request.approved',
          'grant.redeemed',
          'action.outcome',
        ]);
        expect(verifyChain(events.slice(1)).ok).toBe(false);
      });

      it("keeps a narrowed approval: the votes' terms, the narrowed grant and the grant as asked", async () => {
        const grant = {
          type: 'aws_sts' as const,
          role: 'exporter',
          actions: ['s3:GetObject', 's3:ListBucket'],
          resources: ['arn:aws:s3:::exports/*'],
          window_seconds: 600,
          wildcards: ['arn:aws:s3:::exports/*'],
        };
        const svc = service(new ManualClock(), decision({ grant }));
        const { request } = await svc.submit(REQUESTER, exportInput);
        const narrowTo = {
          actions: ['s3:GetObject'],
          resources: ['arn:aws:s3:::exports/a.csv'],
          window_seconds: 60,
        };
        for (const approver of owners.slice(0, 2)) {
          await svc.review(request.id, approver, {
            decision: 'approve',
            actionHash: request.actionHash,
            channel: 'api',
            narrowTo,
          });
        }

        const stored = await sut.store.get(request.id);
        expect(stored?.status).toBe('approved');
        expect(stored?.grant).toEqual({ type: 'aws_sts', role: 'exporter', ...narrowTo });
        expect(stored?.narrowed?.asked).toEqual(grant);
        expect(stored?.approval?.votes.map((v) => v.terms?.terms_hash)).toEqual([
          stored?.narrowed?.terms.terms_hash,
          stored?.narrowed?.terms.terms_hash,
        ]);
        const { verification } = await svc.audit(request.id, 'user:audrey@example.gov');
        expect(verification.ok).toBe(true);
      });
    });
  });
}
