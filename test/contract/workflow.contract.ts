/**
 * The one contract every ApprovalWorkflow adapter passes (local timers, Step Functions): waiting
 * is durable enough to escalate and expire on time, a decision stops it, and late votes are refused.
 * Uses real time with short deadlines. Absence (no expiry after a decision) is never shown by
 * sleeping: a test waits for a positive signal — the adapter says it stopped waiting, and a sentinel
 * request with a later deadline has expired — and only then looks for what must not be there.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TerminalStateError } from '../../functions/core/errors.ts';
import type { ActionRequest } from '../../functions/core/model.ts';
import type { ApprovalWorkflow } from '../../functions/core/ports/workflow.port.ts';
import type { ApprovalService } from '../../functions/core/service.ts';
import { decision, exportInput, owners } from '../support/fixtures.ts';

export interface WorkflowUnderTest {
  /** A service wired to the adapter under test, whose policy answers with the given approval terms. */
  service(terms: {
    timeoutSeconds: number;
    escalateAfterSeconds?: number;
    minApprovals?: number;
  }): ApprovalService;
  readonly workflow: ApprovalWorkflow;
  /** Whether the adapter still waits on the request (local: a timer armed; AWS: the execution runs). */
  isWaiting(requestId: string): Promise<boolean>;
  close(): Promise<void>;
}

export const REQUESTER = 'agent:demo-exporter';

export interface ApprovalTerms {
  readonly timeoutSeconds: number;
  readonly escalateAfterSeconds?: number;
  readonly minApprovals?: number;
}

/** A policy decision requiring approval from data-owners on these terms (escalating to their leads). */
export function approvalTerms(t: ApprovalTerms) {
  return decision({
    approval: {
      groups: ['data-owners'],
      min_approvals: t.minApprovals ?? 2,
      timeout_seconds: t.timeoutSeconds,
      ...(t.escalateAfterSeconds !== undefined
        ? { escalate_after_seconds: t.escalateAfterSeconds, escalation_groups: ['data-owner-leads'] }
        : {}),
    },
  });
}

async function until<T extends ActionRequest | boolean>(
  read: () => Promise<T>,
  done: (r: T) => boolean,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = await read();
  while (!done(last)) {
    if (Date.now() > deadline)
      throw new Error(
        `condition not met in ${timeoutMs} ms; last ${typeof last === 'boolean' ? `value ${last}` : `status ${last.status}`}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 50));
    last = await read();
  }
  return last;
}

export function describeWorkflowContract(name: string, make: () => Promise<WorkflowUnderTest>): void {
  describe(`ApprovalWorkflow contract: ${name}`, () => {
    let sut: WorkflowUnderTest;
    beforeAll(async () => {
      sut = await make();
    });
    afterAll(async () => {
      await sut?.close();
    });

    it('expires an undecided request at its deadline, recorded by the timer, chain intact', async () => {
      const service = sut.service({ timeoutSeconds: 2 });
      const { request } = await service.submit(REQUESTER, exportInput);
      const expired = await until(
        () => service.get(request.id, REQUESTER),
        (r) => r.status === 'expired',
        15_000,
      );
      const lateness = Date.parse(expired.updatedAt) - Date.parse(request.approval?.expiresAt ?? '');
      expect(lateness).toBeGreaterThanOrEqual(-2_000);
      expect(lateness).toBeLessThan(5_000);
      const { events, verification } = await service.audit(request.id, REQUESTER);
      expect(verification.ok).toBe(true);
      expect(events.filter((e) => e.type === 'request.expired')).toEqual([
        expect.objectContaining({ actor: 'system:timer' }),
      ]);
    });

    it('brings in the escalation groups when no one answers, and lets them decide', async () => {
      const service = sut.service({ timeoutSeconds: 6, escalateAfterSeconds: 1, minApprovals: 1 });
      const { request } = await service.submit(REQUESTER, exportInput);
      const escalated = await until(
        () => service.get(request.id, REQUESTER),
        (r) => r.approval?.escalated === true,
        10_000,
      );
      expect(escalated.status).toBe('pending');
      const { request: decided } = await service.review(request.id, 'user:lead@example.gov', {
        decision: 'approve',
        actionHash: request.actionHash,
        channel: 'api',
      });
      expect(decided.status).toBe('approved');
      const { events } = await service.audit(request.id, REQUESTER);
      expect(events.map((e) => e.type)).toEqual(
        expect.arrayContaining(['request.escalated', 'request.approved']),
      );
    });

    it('stops waiting once a vote decides: the deadline passes without an expiry', async () => {
      // Long enough that the adapter must stop because of the vote, not because the deadline came.
      const service = sut.service({ timeoutSeconds: 8, minApprovals: 1 });
      const { request } = await service.submit(REQUESTER, exportInput);
      // Submitted after it, on the same terms: its deadline is no earlier.
      const { request: sentinel } = await service.submit(REQUESTER, exportInput);
      const expiresAt = Date.parse(request.approval?.expiresAt ?? '');
      expect(await sut.isWaiting(request.id)).toBe(true);
      await service.review(request.id, owners[0] ?? '', {
        decision: 'approve',
        actionHash: request.actionHash,
        channel: 'api',
      });
      await until(
        () => sut.isWaiting(request.id),
        (waiting) => !waiting,
        15_000,
      );
      expect(Date.now()).toBeLessThan(expiresAt);
      expect(await sut.isWaiting(sentinel.id)).toBe(true);
      // The sentinel's expiry shows the deadline has passed and the timers ran.
      await until(
        () => service.get(sentinel.id, REQUESTER),
        (r) => r.status === 'expired',
        20_000,
      );
      // A timer may fire up to the core's tolerance early (Step Functions waits in whole seconds):
      // make sure the decided request's own deadline has passed too.
      while (Date.now() <= expiresAt)
        await new Promise((resolve) => setTimeout(resolve, expiresAt - Date.now() + 1));
      const { request: final, events, verification } = await service.audit(request.id, REQUESTER);
      expect(final.status).toBe('approved');
      expect(verification.ok).toBe(true);
      expect(events.some((e) => e.type === 'request.expired')).toBe(false);
    });

    it('refuses a vote that arrives after expiry with 409 and audits it as late', async () => {
      const service = sut.service({ timeoutSeconds: 1 });
      const { request } = await service.submit(REQUESTER, exportInput);
      await until(
        () => service.get(request.id, REQUESTER),
        (r) => r.status === 'expired',
        15_000,
      );
      await expect(
        service.review(request.id, owners[1] ?? '', {
          decision: 'approve',
          actionHash: request.actionHash,
          channel: 'api',
        }),
      ).rejects.toBeInstanceOf(TerminalStateError);
      const { events, verification } = await service.audit(request.id, REQUESTER);
      expect(verification.ok).toBe(true);
      expect(events.at(-1)).toMatchObject({ type: 'review.late', actor: owners[1] });
    });

    it('changes nothing when started twice for one request', async () => {
      const service = sut.service({ timeoutSeconds: 1 });
      const { request } = await service.submit(REQUESTER, exportInput);
      await sut.workflow.start(request);
      await until(
        () => service.get(request.id, REQUESTER),
        (r) => r.status === 'expired',
        15_000,
      );
      // Nothing left to fire: the adapter has stopped waiting on the request.
      await until(
        () => sut.isWaiting(request.id),
        (waiting) => !waiting,
        15_000,
      );
      const { events } = await service.audit(request.id, REQUESTER);
      expect(events.filter((e) => e.type === 'request.expired')).toHaveLength(1);
    });
  });
}
