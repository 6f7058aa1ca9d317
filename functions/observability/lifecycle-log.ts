/**
 * One info line per lifecycle event, from the audit events of each committed transition: the
 * service calls `onCommit` after every commit, whichever edge (HTTP, timer, Step Functions stage,
 * sweeper) caused it, so nothing is logged twice or missed. Lines carry ids, the action's name and
 * outcomes; never arguments, comments, justifications, tokens or credentials.
 */
import type { AuditEvent } from '../core/model.ts';
import type { Transition } from '../core/ports/store.port.ts';
import type { Logger } from './logger.ts';

type Line = readonly [message: string, attributes: Record<string, unknown>];

function line(event: AuditEvent): Line | undefined {
  const d = event.data;
  switch (event.type) {
    case 'request.submitted':
      return ['request submitted', { requester: event.actor }];
    case 'approval.requested':
      return ['approval requested', { groups: d.groups, required: d.min_approvals, expiresAt: d.expires_at }];
    case 'review.recorded':
      return ['vote recorded', { approver: event.actor, decision: d.decision, channel: d.channel }];
    case 'review.late':
      return ['late vote refused', { approver: event.actor, status: d.status }];
    case 'request.approved':
      return ['request decided', { outcome: 'approved', by: d.by === 'policy' ? 'policy' : 'review' }];
    case 'request.denied':
      return ['request decided', { outcome: 'denied', by: 'policy' }];
    case 'request.rejected':
      return ['request decided', { outcome: 'rejected', by: 'review', approver: event.actor }];
    case 'request.escalated':
      return ['request escalated', { groups: d.escalation_groups }];
    case 'request.expired':
      return ['request expired', {}];
    case 'request.cancelled':
      return ['request cancelled', { actor: event.actor }];
    case 'grant.redeemed':
      return [
        'grant redeemed',
        { grantType: d.grant_type, sessionName: d.session_name, expiresAt: d.expiration },
      ];
    case 'grant.refused':
      return ['grant refused', { code: d.code }];
    case 'action.outcome':
      return ['outcome reported', { outcome: d.status }];
    case 'notification.sent':
      return ['approvers notified', { channel: d.channel, escalation: d.escalation === true }];
    default:
      return undefined;
  }
}

/** An `onCommit` hook that logs the transition's lifecycle events. Never throws. */
export function logLifecycle(logger: Logger): (transition: Transition) => void {
  return (transition) => {
    try {
      const { request } = transition;
      for (const event of transition.events) {
        const entry = line(event);
        if (!entry) continue;
        logger.info(entry[0], {
          requestId: request.id,
          action: request.action.name,
          ...entry[1],
          status: request.status,
          seq: event.seq,
        });
      }
    } catch {
      // Logging must never turn a committed transition into a failed call.
    }
  };
}
