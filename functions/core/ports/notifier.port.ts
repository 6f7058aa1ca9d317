import type { ApprovalCard } from '../approval-card.ts';

/** `notify`: the approval groups are asked; `escalate`: the escalation groups are brought in. */
export type NotificationStage = 'notify' | 'escalate';

/** Whom a notification is for, and where policy data routes them on the notifier's channel. */
export interface NotificationTarget {
  readonly stage: NotificationStage;
  /** The groups asked at this stage: the approval groups, or the escalation groups. */
  readonly groups: readonly string[];
  /**
   * Where policy data routes those groups on this channel (`notifications.<channel>.<group>`), in
   * order, without repeats; empty when it routes none of them: the channel's configured default.
   */
  readonly destinations: readonly string[];
}

export interface NotificationReceipt {
  /** Who or where was told: channel ids, conversation ids, the webhook URL's host. */
  readonly recipients: readonly string[];
  /**
   * The posted message, opaque to everyone but the notifier (Slack `channel/ts`, a Teams activity
   * reference): `update` gets it back to refresh the card. Recorded in the `notification.sent` event.
   */
  readonly reference?: string;
}

/**
 * A channel that tells approvers (Slack, Teams, a signed webhook). Notifiers render the card
 * (escaping every agent-supplied string, within the channel's limits) and talk to their service;
 * they decide nothing. Errors are thrown: the dispatcher logs them and carries on with the others.
 */
export interface ApprovalNotifier {
  /** `slack`, `teams`, `webhook`: the name the policy's `approval.channels` uses. */
  readonly channel: string;
  /** Posts the card; undefined when there is nowhere to post on this channel. */
  notify(card: ApprovalCard, target: NotificationTarget): Promise<NotificationReceipt | undefined>;
  /** Replaces the card posted as `reference` with its current state (votes, outcome, no buttons once decided). */
  update(card: ApprovalCard, reference: string): Promise<void>;
}
