import { describe, expect, it } from 'vitest';
import { LocalTimerWorkflow } from '../../../functions/adapters/local/timer-workflow.ts';
import { SqliteRequestStore } from '../../../functions/adapters/sqlite/sqlite-store.ts';
import { systemClock, ulidIds } from '../../../functions/adapters/system/system.ts';
import { ApprovalService } from '../../../functions/core/service.ts';
import { silentLogger } from '../../../functions/observability/logger.ts';
import { approvalTerms, describeWorkflowContract, REQUESTER } from '../../contract/workflow.contract.ts';
import { exportInput, fixedPolicy } from '../../support/fixtures.ts';

describeWorkflowContract('local timers over SQLite', async () => {
  const store = new SqliteRequestStore({ path: ':memory:' });
  const workflow = new LocalTimerWorkflow({ logger: silentLogger });
  const ids = ulidIds();
  return {
    workflow,
    isWaiting: async (id) => workflow.isWaiting(id),
    service: (t) => {
      const service = new ApprovalService({
        store,
        policy: fixedPolicy(approvalTerms(t)),
        clock: systemClock,
        ids,
        workflow,
      });
      workflow.attach(service);
      return service;
    },
    close: async () => {
      workflow.stop();
      store.close();
    },
  };
});

describe('Class: LocalTimerWorkflow', () => {
  it('re-arms the timers of pending requests from the store after a restart, and fires overdue ones at once', async () => {
    const store = new SqliteRequestStore({ path: ':memory:' });
    const ids = ulidIds();
    const policy = fixedPolicy(approvalTerms({ timeoutSeconds: 1 }));
    // First process: submits, then dies before the deadline (its timers die with it).
    const first = new LocalTimerWorkflow({ logger: silentLogger });
    const before = new ApprovalService({ store, policy, clock: systemClock, ids, workflow: first });
    first.attach(before);
    const { request } = await before.submit(REQUESTER, exportInput);
    expect(first.isWaiting(request.id)).toBe(true);
    first.stop();
    expect(first.armed).toBe(0);
    // Past the deadline (a computed instant, not a guessed sleep), the request is still pending.
    const expiresAt = Date.parse(request.approval?.expiresAt ?? '');
    expect(expiresAt).toBeGreaterThan(Date.now());
    while (Date.now() <= expiresAt)
      await new Promise((resolve) => setTimeout(resolve, expiresAt - Date.now() + 1));
    expect((await store.get(request.id))?.status).toBe('pending');
    // Second process: recovers from the store alone.
    const second = new LocalTimerWorkflow({ logger: silentLogger });
    const after = new ApprovalService({ store, policy, clock: systemClock, ids, workflow: second });
    second.attach(after);
    expect(await second.recover(store)).toBeGreaterThanOrEqual(1);
    const deadline = Date.now() + 5_000;
    while ((await store.get(request.id))?.status === 'pending' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect((await store.get(request.id))?.status).toBe('expired');
    second.stop();
    store.close();
  });

  it('retries a timer whose store call failed, instead of dropping it', async () => {
    const attempts: string[] = [];
    const workflow = new LocalTimerWorkflow({ logger: silentLogger });
    let failures = 2;
    workflow.attach({
      escalate: async () => {
        throw new Error('not used');
      },
      expire: async (id) => {
        attempts.push(id);
        if (failures-- > 0) throw new Error('database is locked');
        return { status: 'expired' } as never;
      },
    });
    const now = new Date();
    await workflow.start({
      id: 'ar_RETRY',
      status: 'pending',
      approval: { expiresAt: now.toISOString(), escalated: false },
    } as never);
    const deadline = Date.now() + 5_000;
    while (attempts.length < 3 && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 20));
    expect(attempts).toEqual(['ar_RETRY', 'ar_RETRY', 'ar_RETRY']);
    expect(workflow.armed).toBe(0);
    workflow.stop();
  });
});
