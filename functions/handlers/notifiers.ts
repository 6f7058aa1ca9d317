/**
 * Fan-out to the approvers' channels (Slack, Teams; later issues). A notifier that sends nothing
 * returns undefined and nothing is recorded; one that fails is logged and the others still run:
 * approvers can always review through the API, and the request still expires at its deadline.
 */
import type { ActionRequest } from '../core/model.ts';
import type { ApprovalService } from '../core/service.ts';
import type { Logger } from '../observability/logger.ts';

export interface NotificationReceipt {
  /** Who was told (principal ids or channel ids). */
  readonly recipients: readonly string[];
  /** The channel's message id, to update the card when the request is decided. */
  readonly reference?: string;
}

export interface ApprovalNotifier {
  /** `slack`, `teams`, … as recorded in the `notification.sent` audit event. */
  readonly channel: string;
  /** Tells the approvers of this stage; undefined when there was no one to tell on this channel. */
  notify(request: ActionRequest, stage: 'notify' | 'escalate'): Promise<NotificationReceipt | undefined>;
}

/** Sends on every channel and records each notification that went out; returns how many did. */
export async function fanOut(
  service: ApprovalService,
  notifiers: readonly ApprovalNotifier[],
  request: ActionRequest,
  stage: 'notify' | 'escalate',
  logger: Logger,
): Promise<number> {
  let sent = 0;
  for (const notifier of notifiers) {
    try {
      const receipt = await notifier.notify(request, stage);
      if (!receipt || receipt.recipients.length === 0) continue;
      await service.recordNotification(request.id, {
        channel: notifier.channel,
        recipients: receipt.recipients,
        ...(receipt.reference ? { reference: receipt.reference } : {}),
        ...(stage === 'escalate' ? { escalation: true } : {}),
      });
      sent++;
    } catch (error) {
      logger.error('notifier failed; approvers can still review through the API', {
        requestId: request.id,
        channel: notifier.channel,
        stage,
        error,
      });
    }
  }
  return sent;
}
