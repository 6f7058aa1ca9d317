/**
 * Property: whatever sequence of votes, cancels, timers, redemptions and outcome reports arrives,
 * in whatever order and from whomever, no review invariant (docs/design.md#43-review-invariants) ever breaks and the chain
 * always verifies.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { verifyChain } from '../../../functions/core/audit.ts';
import { GatewayError } from '../../../functions/core/errors.ts';
import * as lifecycle from '../../../functions/core/lifecycle.ts';
import type { ActionRequest, AuditEvent } from '../../../functions/core/model.ts';
import type { Transition } from '../../../functions/core/ports/store.port.ts';
import { decision, directory, exportInput } from '../../support/fixtures.ts';

const REQUESTER = 'agent:demo-exporter';
const ON_BEHALF_OF = 'user:alice@example.gov';
const EXCLUDED = 'user:owner7@example.gov';
const PEOPLE = [
  REQUESTER,
  ON_BEHALF_OF,
  EXCLUDED,
  'user:bob@example.gov',
  'user:carol@example.gov',
  'user:owner1@example.gov',
  'user:owner2@example.gov',
  'user:lead@example.gov',
  'user:mallory@example.gov',
];
const T0 = Date.parse('2026-11-22T10:00:00.000Z');

const command = fc.oneof(
  fc.record({
    kind: fc.constant('vote' as const),
    who: fc.constantFrom(...PEOPLE),
    decision: fc.constantFrom('approve' as const, 'reject' as const),
    comment: fc.option(fc.constantFrom('ok', '', 'Not without a ticket.'), { nil: undefined }),
    staleHash: fc.boolean(),
  }),
  fc.record({ kind: fc.constant('cancel' as const), who: fc.constantFrom(...PEOPLE) }),
  fc.record({ kind: fc.constantFrom('escalate' as const, 'expire' as const) }),
  fc.record({
    kind: fc.constantFrom('redeem' as const, 'outcome' as const),
    who: fc.constantFrom(...PEOPLE),
  }),
  fc.record({ kind: fc.constant('wait' as const), seconds: fc.integer({ min: 1, max: 1500 }) }),
);

const FINAL_EVENTS = new Set([
  'request.approved',
  'request.rejected',
  'request.expired',
  'request.cancelled',
  'request.denied',
]);

describe('Property: lifecycle invariants', () => {
  it('holds for any sequence of commands', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(1, 2, 3),
        fc.array(command, { minLength: 1, maxLength: 40 }),
        (minApprovals, commands) => {
          let now = T0;
          const first = lifecycle.submit({
            id: 'ar_01PROPERTYPROPERTYPROPERT',
            subject: lifecycle.subjectOf(REQUESTER),
            input: exportInput,
            decision: decision({
              approval: {
                groups: ['data-owners'],
                min_approvals: minApprovals,
                timeout_seconds: 3600,
                escalate_after_seconds: 1200,
                escalation_groups: ['data-owner-leads'],
                exclude: [EXCLUDED],
              },
            }),
            now: new Date(now),
          });
          let request: ActionRequest = first.request;
          const events: AuditEvent[] = [...first.events];
          const apply = (t: Transition | undefined) => {
            if (!t) return;
            expect(t.expectedVersion).toBe(request.version);
            expect(t.request.version).toBe(request.version + 1);
            const before = request;
            request = t.request;
            events.push(...t.events);
            // A decided request never changes its status again.
            if (before.status !== 'pending') expect(request.status).toBe(before.status);
          };
          const attempt = (fn: () => Transition | undefined) => {
            try {
              apply(fn());
            } catch (error) {
              // Refusals are typed gateway errors; anything else is a bug.
              if (!(error instanceof GatewayError)) throw error;
            }
          };

          for (const c of commands) {
            const at = new Date(now);
            switch (c.kind) {
              case 'wait':
                now += c.seconds * 1000;
                break;
              case 'vote': {
                try {
                  const result = lifecycle.review(
                    request,
                    {
                      approver: c.who,
                      decision: c.decision,
                      ...(c.comment !== undefined ? { comment: c.comment } : {}),
                      actionHash: c.staleHash ? 'sha256:stale' : request.actionHash,
                      channel: 'api',
                      now: at,
                    },
                    directory,
                  );
                  if (result.kind !== 'duplicate') apply(result.transition);
                } catch (error) {
                  if (!(error instanceof GatewayError)) throw error;
                }
                break;
              }
              case 'cancel':
                attempt(() => lifecycle.cancel(request, c.who, at));
                break;
              case 'escalate':
                attempt(() => lifecycle.escalate(request, at));
                break;
              case 'expire':
                attempt(() => lifecycle.expire(request, at));
                break;
              case 'redeem':
                attempt(() => lifecycle.redeem(request, c.who, at));
                break;
              case 'outcome':
                attempt(() => lifecycle.reportOutcome(request, c.who, { status: 'succeeded' }, at));
                break;
            }
          }

          // The chain is complete and matches the head the request keeps.
          expect(
            verifyChain(events, { expectedHead: { seq: request.auditSeq, hash: request.auditHead } }).ok,
          ).toBe(true);
          // At most one decision, ever.
          expect(events.filter((e) => FINAL_EVENTS.has(e.type)).length).toBeLessThanOrEqual(1);
          const votes = request.approval?.votes ?? [];
          // One vote per approver; never the requester, the person acted for, or the excluded.
          expect(new Set(votes.map((v) => v.approver)).size).toBe(votes.length);
          for (const v of votes) {
            expect([REQUESTER, ON_BEHALF_OF, EXCLUDED]).not.toContain(v.approver);
            expect(v.approver).not.toBe('user:mallory@example.gov');
            if (v.decision === 'reject') expect(v.comment?.trim()).toBeTruthy();
          }
          const approvals = votes.filter((v) => v.decision === 'approve').length;
          const rejections = votes.filter((v) => v.decision === 'reject').length;
          if (request.status === 'approved') {
            expect(approvals).toBeGreaterThanOrEqual(minApprovals);
            expect(rejections).toBe(0);
          }
          if (request.status === 'rejected') expect(rejections).toBe(1);
          if (request.status === 'pending') expect(approvals).toBeLessThan(minApprovals);
          // Votes from escalation leads only after escalation.
          const escalatedAt =
            events.find((e) => e.type === 'request.escalated')?.seq ?? Number.POSITIVE_INFINITY;
          for (const e of events) {
            if (e.type === 'review.recorded' && e.actor === 'user:lead@example.gov') {
              expect(e.seq).toBeGreaterThan(escalatedAt);
            }
          }
          // Grants: once, only when approved, only by the requester.
          const redemptions = events.filter((e) => e.type === 'grant.redeemed');
          expect(redemptions.length).toBeLessThanOrEqual(1);
          if (redemptions.length > 0) {
            expect(request.status).toBe('approved');
            expect(redemptions[0]?.actor).toBe(REQUESTER);
          }
          // No vote is counted after the decision.
          const decidedAt = events.find((e) => FINAL_EVENTS.has(e.type))?.seq ?? Number.POSITIVE_INFINITY;
          for (const e of events) if (e.type === 'review.recorded') expect(e.seq).toBeLessThan(decidedAt);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
