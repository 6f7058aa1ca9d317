import { describe, expect, it } from 'vitest';
import { recordProblems } from '../../../functions/core/audit.ts';
import { StepUpRequiredError } from '../../../functions/core/errors.ts';
import * as lifecycle from '../../../functions/core/lifecycle.ts';
import type { ActionRequest } from '../../../functions/core/model.ts';
import { decision, directory, exportInput } from '../../support/fixtures.ts';

const T0 = new Date('2026-11-22T10:00:00.000Z');
const BOB = 'user:bob@example.gov';

function submitted(stepUp: boolean) {
  const base = decision();
  const approval = base.approval as NonNullable<typeof base.approval>;
  return lifecycle.submit({
    id: 'ar_01TESTTESTTESTTESTTESTTEST',
    subject: lifecycle.subjectOf('agent:demo-exporter'),
    input: exportInput,
    decision: decision({ approval: { ...approval, ...(stepUp ? { step_up: true } : {}) } }),
    now: T0,
    directory,
  });
}

const vote = (request: ActionRequest, channel: string, steppedUp?: boolean) =>
  lifecycle.review(
    request,
    {
      approver: BOB,
      decision: 'approve',
      actionHash: request.actionHash,
      channel,
      now: new Date(T0.getTime() + 1000),
      ...(steppedUp !== undefined ? { steppedUp } : {}),
    },
    directory,
  );

describe('Module: lifecycle, step-up (policy approval.step_up)', () => {
  it('records step-up on the approval and in its audit event', () => {
    const { request, events } = submitted(true);
    expect(request.approval?.stepUp).toBe(true);
    expect(events.find((e) => e.type === 'approval.requested')?.data.step_up).toBe(true);
    expect(submitted(false).request.approval?.stepUp).toBeUndefined();
  });

  it.each(['api', 'slack', 'teams', 'cli'])('refuses a %s vote, naming the review page', (channel) => {
    const { request } = submitted(true);
    expect(() => vote(request, channel)).toThrow(StepUpRequiredError);
    expect(() => vote(request, channel)).toThrow(/review page after a fresh sign-in/);
  });

  it('refuses a review-page vote without a fresh sign-in, and records one with it', () => {
    const { request } = submitted(true);
    expect(() => vote(request, lifecycle.REVIEW_PAGE_CHANNEL, false)).toThrow(/recent sign-in/);
    expect(vote(request, lifecycle.REVIEW_PAGE_CHANNEL, true).kind).toBe('recorded');
  });

  it('asks nothing more of a request without step-up', () => {
    expect(vote(submitted(false).request, 'api').kind).toBe('recorded');
  });

  it('reports a record whose step-up was removed as disagreeing with its audit chain', () => {
    const { request, events } = submitted(true);
    const edited = {
      ...request,
      approval: { ...(request.approval as NonNullable<ActionRequest['approval']>), stepUp: false },
    };
    expect(recordProblems(edited, events).map((p) => p.message)).toEqual([
      expect.stringMatching(/step-up is false but its audit chain says true/),
    ]);
    expect(recordProblems(request, events)).toEqual([]);
  });
});
