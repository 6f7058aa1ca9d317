/**
 * The sweeper's reconciler and its bounds, over a real SQLite store with a recording workflow and
 * an in-memory token store: what it resumes, what it leaves alone, and how much it does per run.
 * (On moto with the synthesized state machine: test/integration/workflow/stress.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import type { StoredTaskToken, TaskTokenStore } from '../../../functions/adapters/aws/task-token-store.ts';
import { SqliteRequestStore } from '../../../functions/adapters/sqlite/sqlite-store.ts';
import { ulidIds } from '../../../functions/adapters/system/system.ts';
import type { ActionRequest } from '../../../functions/core/model.ts';
import { ApprovalService } from '../../../functions/core/service.ts';
import { type SweepWorkflow, sweepPendingRequests } from '../../../functions/handlers/sweep.ts';
import { approvalTerms, REQUESTER } from '../../contract/workflow.contract.ts';
import { exportInput, fixedPolicy, ManualClock, owners } from '../../support/fixtures.ts';

class MemoryTokens implements TaskTokenStore {
  readonly items = new Map<string, StoredTaskToken>();
  async put(token: StoredTaskToken): Promise<void> {
    this.items.set(token.requestId, token);
  }
  async get(requestId: string): Promise<StoredTaskToken | undefined> {
    return this.items.get(requestId);
  }
  async settle(token: StoredTaskToken, at: Date): Promise<void> {
    if (this.items.get(token.requestId)?.taskToken === token.taskToken) {
      this.items.set(token.requestId, { ...token, settledAt: at.toISOString() });
    }
  }
}

function world() {
  const store = new SqliteRequestStore({ path: ':memory:' });
  const clock = new ManualClock(Date.parse('2026-11-22T10:00:00.000Z'));
  const tokens = new MemoryTokens();
  const resumed: string[] = [];
  const workflow: SweepWorkflow = {
    start: async () => {},
    decided: async () => {},
    startIfMissing: async () => false,
    resume: async (request: ActionRequest) => {
      resumed.push(request.id);
      return true;
    },
  };
  const warnings: { message: string; attributes?: Record<string, unknown> }[] = [];
  const logger = {
    debug() {},
    info() {},
    warn: (message: string, attributes?: Record<string, unknown>) =>
      warnings.push({ message, ...(attributes ? { attributes } : {}) }),
    error: (message: string, attributes?: Record<string, unknown>) =>
      warnings.push({ message, ...(attributes ? { attributes } : {}) }),
  };
  const service = new ApprovalService({
    store,
    policy: fixedPolicy(approvalTerms({ timeoutSeconds: 3600, minApprovals: 1 })),
    clock,
    ids: ulidIds(),
  });
  /** A request decided by a vote whose SendTaskSuccess never arrived: its notify token is unsettled. */
  const decidedWithLostCallback = async (): Promise<ActionRequest> => {
    const { request } = await service.submit(REQUESTER, exportInput);
    tokens.items.set(request.id, {
      requestId: request.id,
      stage: 'notify',
      taskToken: `token-of-${request.id}`,
      storedAt: clock.now().toISOString(),
    });
    const { request: approved } = await service.review(request.id, owners[0] ?? '', {
      decision: 'approve',
      actionHash: request.actionHash,
      channel: 'api',
    });
    return approved;
  };
  const sweep = (options: Parameters<typeof sweepPendingRequests>[1] = {}) =>
    sweepPendingRequests({ service, store, tokens, workflow, clock, logger }, options);
  return { store, clock, tokens, resumed, warnings, service, decidedWithLostCallback, sweep };
}

describe('Function: sweepPendingRequests (reconciler)', () => {
  it('resumes at most maxReconcileChecks decided requests per run, says the sweep is incomplete, and the next run continues', async () => {
    const w = world();
    const decided = [
      await w.decidedWithLostCallback(),
      await w.decidedWithLostCallback(),
      await w.decidedWithLostCallback(),
    ];
    w.clock.advance(120);
    const first = await w.sweep({ maxReconcileChecks: 2 });
    expect(first).toMatchObject({ resumed: 2, complete: false, failed: 0 });
    expect(first.reconcileFrom?.status).toBe('approved');
    const second = await w.sweep({
      maxReconcileChecks: 2,
      ...(first.reconcileFrom ? { reconcileFrom: first.reconcileFrom } : {}),
    });
    expect(second).toMatchObject({ resumed: 1, complete: true, failed: 0 });
    expect(second.reconcileFrom).toBeUndefined();
    expect(w.resumed.sort()).toEqual(decided.map((r) => r.id).sort());
    // A fresh walk reads the two settled tokens first (the bound counts reads), resumes nothing.
    const third = await w.sweep({ maxReconcileChecks: 2 });
    expect(third).toMatchObject({ resumed: 0, complete: false });
    expect(w.resumed).toHaveLength(3);
    // One line per repair, plus one per run that stopped at its bound.
    expect(w.warnings.filter((l) => l.attributes?.repaired === true)).toHaveLength(3);
    expect(w.warnings.filter((l) => /reached its checks/.test(l.message))).toHaveLength(2);
  });

  it('leaves alone a decision still within its grace, and one whose deadline has passed', async () => {
    const w = world();
    const fresh = await w.decidedWithLostCallback();
    expect(await w.sweep({ resumeGraceMs: 60_000 })).toMatchObject({ resumed: 0 });
    w.clock.advance(3600 + 1);
    expect(await w.sweep({ resumeGraceMs: 60_000 })).toMatchObject({ resumed: 0, complete: true });
    expect(w.resumed).toEqual([]);
    expect(w.tokens.items.get(fresh.id)?.settledAt).toBeUndefined();
  });

  it('leaves alone a decided request whose token a Finalize settled, and logs nothing', async () => {
    const w = world();
    const decided = await w.decidedWithLostCallback();
    const token = w.tokens.items.get(decided.id);
    if (!token) throw new Error('no token');
    await w.tokens.settle(token, w.clock.now());
    w.clock.advance(120);
    expect(await w.sweep()).toMatchObject({ resumed: 0, failed: 0, complete: true });
    expect(w.resumed).toEqual([]);
    expect(w.warnings).toEqual([]);
  });

  it('logs nothing for a pending request whose execution exists, as it should (ExecutionAlreadyExists)', async () => {
    const w = world();
    await w.service.submit(REQUESTER, exportInput);
    w.clock.advance(120);
    const report = await w.sweep();
    expect(report).toMatchObject({ scanned: 1, started: 0, renotified: 0, failed: 0 });
    expect(w.warnings).toEqual([]);
  });
});
