import { describe, expect, it } from 'vitest';
import { verifyChain } from '../../../functions/core/audit.ts';
import { hashCanonical } from '../../../functions/core/canonical.ts';
import {
  ForbiddenError,
  GrantAlreadyRedeemedError,
  GrantNotRedeemedError,
  NotApprovedError,
  NotDueError,
  NotEligibleError,
  OutcomeAlreadyReportedError,
  SelfApprovalError,
  StaleActionHashError,
  TerminalStateError,
  ValidationError,
  VoteAlreadyCastError,
} from '../../../functions/core/errors.ts';
import * as lifecycle from '../../../functions/core/lifecycle.ts';
import type { ActionRequest, AuditEvent } from '../../../functions/core/model.ts';
import type { Transition } from '../../../functions/core/ports/store.port.ts';
import { decision, directory, exportInput } from '../../support/fixtures.ts';

const REQUESTER = 'agent:demo-exporter';
const T0 = new Date('2026-11-22T10:00:00.000Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);
const BOB = 'user:bob@example.gov';
const CAROL = 'user:carol@example.gov';

function start(overrides: Parameters<typeof decision>[0] = {}) {
  return lifecycle.submit({
    id: 'ar_01TESTTESTTESTTESTTESTTEST',
    subject: lifecycle.subjectOf(REQUESTER),
    input: exportInput,
    decision: decision(overrides),
    now: T0,
  });
}

/** Applies transitions like a store would, collecting the chain. */
function run(first: Transition, ...steps: ((r: ActionRequest) => Transition | undefined)[]) {
  let request = first.request;
  const events: AuditEvent[] = [...first.events];
  for (const step of steps) {
    const t = step(request);
    if (!t) continue;
    expect(t.expectedVersion).toBe(request.version);
    request = t.request;
    events.push(...t.events);
  }
  return { request, events };
}

function vote(
  approver: string,
  decisionKind: 'approve' | 'reject' = 'approve',
  extra: Partial<lifecycle.ReviewCommand> = {},
) {
  return (r: ActionRequest): Transition => {
    const result = lifecycle.review(
      r,
      { approver, decision: decisionKind, actionHash: r.actionHash, channel: 'api', now: at(60), ...extra },
      directory,
    );
    if (result.kind !== 'recorded') throw new Error(`vote not recorded: ${result.kind}`);
    return result.transition;
  };
}

describe('Module: lifecycle', () => {
  describe('submit', () => {
    it('binds the action hash to the canonical subject, action and resource', () => {
      const { request } = start();
      expect(request.actionHash).toBe(
        hashCanonical({
          subject: { id: REQUESTER, type: 'agent' },
          action: exportInput.action,
          resource: exportInput.resource,
        }),
      );
      const reordered = {
        ...exportInput,
        action: {
          args: { destination: 's3://agency-drop/fin/', dataset: 'ledger_2026q2' },
          name: 'data.export',
        },
      };
      expect(lifecycle.actionHash(request.subject, reordered)).toBe(request.actionHash);
      const changed = { ...exportInput, action: { ...exportInput.action, args: { dataset: 'other' } } };
      expect(lifecycle.actionHash(request.subject, changed)).not.toBe(request.actionHash);
    });

    it('opens a pending approval with deadlines and records three chained events', () => {
      const { request, events } = start();
      expect(request.status).toBe('pending');
      expect(request.approval).toMatchObject({
        groups: ['data-owners'],
        minApprovals: 2,
        expiresAt: '2026-11-22T11:00:00.000Z',
        escalateAt: '2026-11-22T10:20:00.000Z',
        escalated: false,
        votes: [],
      });
      expect(events.map((e) => e.type)).toEqual([
        'request.submitted',
        'policy.evaluated',
        'approval.requested',
      ]);
      expect(
        verifyChain(events, { expectedHead: { seq: request.auditSeq, hash: request.auditHead } }).ok,
      ).toBe(true);
    });

    it('always excludes the requester and the person it acts for, whatever the policy says', () => {
      const { request } = start();
      expect(request.approval?.exclude).toEqual(
        expect.arrayContaining([REQUESTER, 'user:alice@example.gov']),
      );
    });

    it('approves at once when the policy allows, and denies when it denies', () => {
      expect(start({ outcome: 'allow', approval: undefined }).request.status).toBe('approved');
      const denied = start({
        outcome: 'deny',
        approval: undefined,
        reasons: [{ code: 'cui_external', message: 'no' }],
      });
      expect(denied.request.status).toBe('denied');
      expect(denied.request.grant).toBeUndefined();
      expect(denied.events.map((e) => e.type)).toEqual([
        'request.submitted',
        'policy.evaluated',
        'request.denied',
      ]);
    });

    it('denies an approval outcome that comes without approval terms', () => {
      const { request } = start({ approval: undefined });
      expect(request.status).toBe('denied');
      expect(request.decision.reasons[0]?.code).toBe('policy_error');
    });
  });

  describe('review', () => {
    it('approves once the quorum of distinct approvers is reached', () => {
      const { request, events } = run(start(), vote(BOB), vote(CAROL));
      expect(request.status).toBe('approved');
      expect(events.filter((e) => e.type === 'request.approved')).toHaveLength(1);
      expect(verifyChain(events).ok).toBe(true);
    });

    it('stays pending below the quorum', () => {
      expect(run(start(), vote(BOB)).request.status).toBe('pending');
    });

    it('refuses the requester', () => {
      const { request } = start();
      const cmd = {
        approver: REQUESTER,
        decision: 'approve' as const,
        actionHash: request.actionHash,
        channel: 'api',
        now: at(1),
      };
      expect(() => lifecycle.review(request, cmd, directory)).toThrow(SelfApprovalError);
    });

    it('refuses a vote from the human the agent acts for, even when that human is an approver', () => {
      const input = { ...exportInput, context: { ...exportInput.context, on_behalf_of: BOB } };
      const t = lifecycle.submit({
        id: 'ar_X',
        subject: lifecycle.subjectOf(REQUESTER),
        input,
        decision: decision(),
        now: T0,
      });
      const cmd = {
        approver: BOB,
        decision: 'approve' as const,
        actionHash: t.request.actionHash,
        channel: 'api',
        now: at(1),
      };
      expect(() => lifecycle.review(t.request, cmd, directory)).toThrow(SelfApprovalError);
    });

    it('refuses someone the policy excluded', () => {
      const { request } = start({
        approval: { groups: ['data-owners'], min_approvals: 2, timeout_seconds: 3600, exclude: [CAROL] },
      });
      const cmd = {
        approver: CAROL,
        decision: 'approve' as const,
        actionHash: request.actionHash,
        channel: 'api',
        now: at(1),
      };
      expect(() => lifecycle.review(request, cmd, directory)).toThrow(NotEligibleError);
    });

    it('refuses someone outside the approving groups, and escalation leads before escalation', () => {
      const { request } = start();
      for (const approver of ['user:mallory@example.gov', 'user:lead@example.gov']) {
        const cmd = {
          approver,
          decision: 'approve' as const,
          actionHash: request.actionHash,
          channel: 'api',
          now: at(1),
        };
        expect(() => lifecycle.review(request, cmd, directory)).toThrow(NotEligibleError);
      }
    });

    it('lets the escalation groups vote after escalation', () => {
      const { request } = run(start(), (r) => lifecycle.escalate(r, at(1200)), vote('user:lead@example.gov'));
      expect(request.approval?.escalated).toBe(true);
      expect(request.approval?.votes.map((v) => v.approver)).toEqual(['user:lead@example.gov']);
    });

    it('refuses a vote for a different action hash than the request has', () => {
      const { request } = start();
      const cmd = {
        approver: BOB,
        decision: 'approve' as const,
        actionHash: 'sha256:stale',
        channel: 'api',
        now: at(1),
      };
      expect(() => lifecycle.review(request, cmd, directory)).toThrow(StaleActionHashError);
    });

    it('changes nothing on a repeated vote by the same approver', () => {
      const { request } = run(start(), vote(BOB));
      const again = lifecycle.review(
        request,
        { approver: BOB, decision: 'approve', actionHash: request.actionHash, channel: 'slack', now: at(2) },
        directory,
      );
      expect(again).toEqual({ kind: 'duplicate', request });
    });

    it('refuses a vote the other way from an approver who already voted', () => {
      const { request } = run(start(), vote(BOB));
      const changed = () =>
        lifecycle.review(
          request,
          {
            approver: BOB,
            decision: 'reject',
            comment: 'changed my mind',
            actionHash: request.actionHash,
            channel: 'api',
            now: at(2),
          },
          directory,
        );
      expect(changed).toThrow(VoteAlreadyCastError);
      expect(changed).toThrow(/already voted to approve at .*; a vote cannot be changed/);
    });

    it('ends the request on any rejection (veto), which needs a comment', () => {
      const { request: pending } = run(start(), vote(BOB));
      const noComment = {
        approver: CAROL,
        decision: 'reject' as const,
        actionHash: pending.actionHash,
        channel: 'api',
        now: at(2),
      };
      expect(() => lifecycle.review(pending, noComment, directory)).toThrow(ValidationError);
      expect(() => lifecycle.review(pending, { ...noComment, comment: '   ' }, directory)).toThrow(
        ValidationError,
      );
      const { request, events } = run(
        start(),
        vote(BOB),
        vote(CAROL, 'reject', { comment: 'Not this quarter.' }),
      );
      expect(request.status).toBe('rejected');
      expect(events.at(-1)).toMatchObject({
        type: 'request.rejected',
        actor: CAROL,
        data: { comment: 'Not this quarter.' },
      });
    });

    it('records a vote after a terminal state as late and refuses it', () => {
      const { request } = run(start(), (r) => lifecycle.cancel(r, REQUESTER, at(5)));
      const late = lifecycle.review(
        request,
        { approver: BOB, decision: 'approve', actionHash: request.actionHash, channel: 'api', now: at(6) },
        directory,
      );
      expect(late.kind).toBe('late');
      if (late.kind !== 'late') return;
      expect(late.error).toBeInstanceOf(TerminalStateError);
      expect(late.transition.request.status).toBe('cancelled');
      expect(late.transition.request.approval?.votes).toEqual([]);
      expect(late.transition.events.map((e) => e.type)).toEqual(['review.late']);
    });

    it('refuses, without a record, a late vote from someone who could never have voted', () => {
      const { request } = run(start(), vote(BOB), vote(CAROL));
      for (const approver of [REQUESTER, 'user:alice@example.gov', 'user:mallory@example.gov']) {
        expect(() =>
          lifecycle.review(
            request,
            { approver, decision: 'approve', actionHash: request.actionHash, channel: 'api', now: at(70) },
            directory,
          ),
        ).toThrow(approver === 'user:mallory@example.gov' ? NotEligibleError : SelfApprovalError);
      }
    });

    it('records one late vote per approver; a repeat is refused without another record', () => {
      const { request } = run(start(), (r) => lifecycle.cancel(r, REQUESTER, at(5)));
      const cmd = {
        approver: BOB,
        decision: 'approve' as const,
        actionHash: request.actionHash,
        channel: 'api',
        now: at(6),
      };
      const first = lifecycle.review(request, cmd, directory);
      if (first.kind !== 'late') throw new Error('expected a late vote');
      expect(() => lifecycle.review(first.transition.request, cmd, directory)).toThrow(TerminalStateError);
    });

    it('expires the request when a vote arrives after the deadline the timer has not acted on yet', () => {
      const { request } = start();
      const late = lifecycle.review(
        request,
        { approver: BOB, decision: 'approve', actionHash: request.actionHash, channel: 'api', now: at(3600) },
        directory,
      );
      expect(late.kind).toBe('late');
      if (late.kind !== 'late') return;
      expect(late.transition.request.status).toBe('expired');
      expect(late.transition.events.map((e) => e.type)).toEqual(['request.expired', 'review.late']);
    });
  });

  describe('timers', () => {
    it('refuses to escalate or expire before the deadline, beyond the tolerance', () => {
      const { request } = start();
      expect(() => lifecycle.escalate(request, at(1000))).toThrow(NotDueError);
      expect(() => lifecycle.expire(request, at(3000))).toThrow(NotDueError);
      expect(lifecycle.expire(request, at(3599))).toBeDefined();
    });

    it('does nothing when the request was decided before the timer fired', () => {
      const { request } = run(start(), vote(BOB), vote(CAROL));
      expect(lifecycle.expire(request, at(4000))).toBeUndefined();
      expect(lifecycle.escalate(request, at(4000))).toBeUndefined();
    });

    it('records why a request expired', () => {
      const { request } = start();
      expect(lifecycle.expire(request, at(3600))?.events[0]?.data.why).toBe(
        'no decision before the deadline',
      );
      const failed = lifecycle.expire(request, at(3600), 'approval workflow failed (Lambda.Unknown)');
      expect(failed?.events[0]).toMatchObject({
        type: 'request.expired',
        data: { why: 'approval workflow failed (Lambda.Unknown)' },
      });
    });

    it('escalates once', () => {
      const { request } = run(start(), (r) => lifecycle.escalate(r, at(1200)));
      expect(lifecycle.escalate(request, at(1300))).toBeUndefined();
    });
  });

  describe('cancel, redeem, outcome', () => {
    it('lets only the requester cancel, and only while pending', () => {
      const { request } = start();
      expect(() => lifecycle.cancel(request, BOB, at(1))).toThrow(ForbiddenError);
      const { request: approved } = run(start(), vote(BOB), vote(CAROL));
      expect(() => lifecycle.cancel(approved, REQUESTER, at(1))).toThrow(TerminalStateError);
    });

    it('redeems once, by the requester, and only when approved', () => {
      const pending = start().request;
      expect(() => lifecycle.redeem(pending, REQUESTER, at(1))).toThrow(NotApprovedError);
      const { request } = run(start(), vote(BOB), vote(CAROL));
      expect(() => lifecycle.redeem(request, BOB, at(1))).toThrow(ForbiddenError);
      const redeemed = lifecycle.redeem(request, REQUESTER, at(70));
      expect(redeemed.request.grantRedeemedAt).toBe(at(70).toISOString());
      expect(() => lifecycle.redeem(redeemed.request, REQUESTER, at(71))).toThrow(GrantAlreadyRedeemedError);
    });

    it('refuses an outcome for a grant that was never redeemed', () => {
      const { request } = run(start({ outcome: 'allow', approval: undefined }));
      expect(() => lifecycle.reportOutcome(request, REQUESTER, { status: 'succeeded' }, at(5))).toThrow(
        GrantNotRedeemedError,
      );
    });

    it('records one outcome for an approved action', () => {
      const { request } = run(start({ outcome: 'allow', approval: undefined }));
      const redeemed = lifecycle.redeem(request, REQUESTER, at(4)).request;
      const done = lifecycle.reportOutcome(
        redeemed,
        REQUESTER,
        { status: 'failed', detail: 'throttled' },
        at(5),
      );
      expect(done.request.outcome).toEqual({
        status: 'failed',
        detail: 'throttled',
        time: at(5).toISOString(),
      });
      expect(() => lifecycle.reportOutcome(done.request, REQUESTER, { status: 'succeeded' }, at(6))).toThrow(
        OutcomeAlreadyReportedError,
      );
      expect(() =>
        lifecycle.reportOutcome(start().request, REQUESTER, { status: 'succeeded' }, at(6)),
      ).toThrow(NotApprovedError);
    });
  });
});
