/**
 * The approval state machine's input and payload contract (functions/adapters/aws/approval-execution.ts):
 * the timings the execution waits with, and the payloads the workflow Lambda accepts.
 */
import { describe, expect, it } from 'vitest';
import {
  approvalExecutionInput,
  isExecutionName,
  parseWorkflowEvent,
} from '../../../functions/adapters/aws/approval-execution.ts';
import { executionName } from '../../../functions/adapters/aws/step-functions-workflow.ts';
import * as lifecycle from '../../../functions/core/lifecycle.ts';
import type { ActionRequest } from '../../../functions/core/model.ts';
import { decision, exportInput } from '../../support/fixtures.ts';

const T0 = Date.parse('2026-11-22T10:00:00.000Z');

function pending(approval: { timeout: number; escalateAfter?: number }): ActionRequest {
  return lifecycle.submit({
    id: 'ar_01JTESTTESTTESTTESTTESTTES',
    subject: lifecycle.subjectOf('agent:demo-exporter'),
    input: exportInput,
    decision: decision({
      approval: {
        groups: ['data-owners'],
        min_approvals: 1,
        timeout_seconds: approval.timeout,
        ...(approval.escalateAfter !== undefined
          ? { escalate_after_seconds: approval.escalateAfter, escalation_groups: ['data-owner-leads'] }
          : {}),
      },
    }),
    now: new Date(T0),
  }).request;
}

describe('Function: approvalExecutionInput', () => {
  it('waits in Notify for the whole timeout when the request does not escalate', () => {
    expect(approvalExecutionInput(pending({ timeout: 3600 }), new Date(T0 + 150))).toEqual({
      request_id: 'ar_01JTESTTESTTESTTESTTESTTES',
      escalates: false,
      notify_timeout_seconds: 3600,
      escalation_timeout_seconds: 1,
      expires_at: '2026-11-22T11:00:00.000Z',
    });
  });

  it('splits the wait at the escalation: Notify until escalate_at, Escalate for the remaining time', () => {
    expect(
      approvalExecutionInput(pending({ timeout: 3600, escalateAfter: 1200 }), new Date(T0 + 400)),
    ).toEqual({
      request_id: 'ar_01JTESTTESTTESTTESTTESTTES',
      escalates: true,
      notify_timeout_seconds: 1200,
      escalation_timeout_seconds: 2400,
      expires_at: '2026-11-22T11:00:00.000Z',
      escalate_at: '2026-11-22T10:20:00.000Z',
    });
  });

  it('measures from the start, so a late start (sweeper) escalates at once and still expires on time', () => {
    const input = approvalExecutionInput(
      pending({ timeout: 3600, escalateAfter: 1200 }),
      new Date(T0 + 1_500_000),
    );
    expect(input).toMatchObject({
      escalates: true,
      notify_timeout_seconds: 1,
      escalation_timeout_seconds: 2100,
    });
  });

  it('does not escalate twice: an escalated request waits in Notify until the deadline', () => {
    const request = pending({ timeout: 3600, escalateAfter: 1200 });
    const escalated = lifecycle.escalate(request, new Date(T0 + 1_200_000))?.request;
    expect(escalated?.approval?.escalated).toBe(true);
    expect(approvalExecutionInput(escalated as ActionRequest, new Date(T0 + 1_300_000))).toMatchObject({
      escalates: false,
      notify_timeout_seconds: 2300,
    });
  });

  it('never asks Step Functions for a timeout below 1 s, even for an overdue request', () => {
    const input = approvalExecutionInput(pending({ timeout: 60 }), new Date(T0 + 120_000));
    expect(input.notify_timeout_seconds).toBe(1);
  });

  it('refuses a request that is not pending', () => {
    const request = pending({ timeout: 60 });
    const cancelled = lifecycle.cancel(request, 'agent:demo-exporter', new Date(T0 + 1000)).request;
    expect(() => approvalExecutionInput(cancelled, new Date(T0 + 2000))).toThrow(
      /is cancelled; only a pending request with approval terms has an approval execution/,
    );
  });
});

describe('Function: parseWorkflowEvent', () => {
  it('accepts each stage the state machine sends', () => {
    expect(parseWorkflowEvent({ stage: 'notify', request_id: 'ar_1', task_token: 't' })).toEqual({
      stage: 'notify',
      request_id: 'ar_1',
      task_token: 't',
    });
    expect(
      parseWorkflowEvent({
        stage: 'expire',
        request_id: 'ar_1',
        failure: { Error: 'States.Timeout', Cause: 'x' },
      }),
    ).toEqual({ stage: 'expire', request_id: 'ar_1', failure: { Error: 'States.Timeout', Cause: 'x' } });
    expect(
      parseWorkflowEvent({ stage: 'finalize', request_id: 'ar_1', decision: { status: 'approved' } }),
    ).toEqual({
      stage: 'finalize',
      request_id: 'ar_1',
      decision: { status: 'approved' },
    });
  });

  it('names what is wrong with a payload that drifted from the definition', () => {
    expect(() => parseWorkflowEvent({ stage: 'escalate', request_id: 'ar_1' })).toThrow(
      /stage escalate has no task_token; the task must pass \$\$\.Task\.Token/,
    );
    expect(() => parseWorkflowEvent({ stage: 'approve', request_id: 'ar_1' })).toThrow(
      /unknown stage "approve"; expected one of notify, escalate, expire, finalize/,
    );
    expect(() => parseWorkflowEvent({ stage: 'notify', task_token: 't' })).toThrow(/no request_id/);
    expect(() => parseWorkflowEvent('notify')).toThrow(/must be a JSON object, got string/);
  });
});

describe('Function: executionName', () => {
  it('names the execution after the request, so one request can never have two', () => {
    expect(executionName('ar_01JTESTTESTTESTTESTTESTTES')).toBe('ar_01JTESTTESTTESTTESTTESTTES');
  });

  it('hashes an id outside the execution-name alphabet into a stable, valid name', () => {
    const name = executionName('tenant/ar:1 with spaces');
    expect(isExecutionName(name)).toBe(true);
    expect(name).toBe(executionName('tenant/ar:1 with spaces'));
    expect(name).not.toBe(executionName('tenant/ar:2 with spaces'));
  });
});
