/**
 * Telling approvers, on every channel the policy names, and keeping their cards current. Used by
 * both composition roots: the local gateway's timers and the AWS workflow's Notify and Escalate
 * stages call `notify`; whatever commits a vote or a decision calls `refresh`.
 *
 * - Idempotent per request, stage and channel: a channel that already has a `notification.sent`
 *   event for the stage is not posted to again, so a retried Notify or a restart posts no second
 *   card. The event is recorded after the post; a crash between the two (or two fan-outs racing)
 *   can post twice, never zero times.
 * - A failing channel never blocks another, nor the request: it is reported through `onError`,
 *   and approvers can always review through the API; the request still expires at its deadline.
 */
import { type ApprovalCard, approvalCard, type CardOptions } from './approval-card.ts';
import { activeGroups } from './eligibility.ts';
import type { ActionRequest, AuditEvent, Directory } from './model.ts';
import type { ApprovalNotifier, NotificationStage, NotificationTarget } from './ports/notifier.port.ts';
import type { RequestStore, Transition } from './ports/store.port.ts';

export interface NotificationSink {
  recordNotification(
    requestId: string,
    notification: {
      channel: string;
      recipients: readonly string[];
      reference?: string;
      escalation?: boolean;
    },
  ): Promise<ActionRequest>;
}

export interface NotificationDependencies {
  readonly store: RequestStore;
  /** Records each notification that went out (the service's `recordNotification`). */
  readonly sink: NotificationSink;
  readonly notifiers: readonly ApprovalNotifier[];
  /** The policy data now (its `notifications` routes). */
  readonly directory: () => Directory;
  /** Cards link to the review page at this base URL. @default no link */
  readonly reviewBaseUrl?: string;
  /** A channel failed; the others carried on. Must not throw. */
  readonly onError: (
    error: unknown,
    context: { requestId: string; channel: string; what: 'notify' | 'update'; stage?: NotificationStage },
  ) => void;
}

/** Events after which a posted card no longer shows the request as it is. */
const CARD_CHANGING_EVENTS: ReadonlySet<AuditEvent['type']> = new Set([
  'review.recorded',
  'request.approved',
  'request.rejected',
  'request.expired',
  'request.escalated',
  'request.cancelled',
  'request.denied',
]);

/** Whether a committed transition changes what a posted card shows. */
export function changesCard(transition: Transition): boolean {
  return transition.events.some((event) => CARD_CHANGING_EVENTS.has(event.type));
}

/** The channels the policy names for this request; a policy that names none: every configured one. */
export function channelsFor(
  request: ActionRequest,
  notifiers: readonly ApprovalNotifier[],
): ApprovalNotifier[] {
  const named = request.approval?.channels ?? [];
  return named.length === 0 ? [...notifiers] : notifiers.filter((n) => named.includes(n.channel));
}

/** Where policy data routes `groups` on `channel`, in group order, without repeats. */
export function destinationsFor(directory: Directory, channel: string, groups: readonly string[]): string[] {
  const routes = directory.notifications?.[channel];
  if (!routes) return [];
  const out: string[] = [];
  for (const group of groups) {
    const destination = Object.hasOwn(routes, group) ? routes[group] : undefined;
    if (destination !== undefined && !out.includes(destination)) out.push(destination);
  }
  return out;
}

function sentEvents(events: readonly AuditEvent[]): AuditEvent[] {
  return events.filter((event) => event.type === 'notification.sent');
}

function stageOf(event: AuditEvent): NotificationStage {
  return event.data.escalation === true ? 'escalate' : 'notify';
}

export class ApprovalNotifications {
  readonly #deps: NotificationDependencies;
  readonly #cardOptions: CardOptions;

  constructor(deps: NotificationDependencies) {
    this.#deps = deps;
    this.#cardOptions = deps.reviewBaseUrl ? { reviewBaseUrl: deps.reviewBaseUrl } : {};
  }

  get configured(): boolean {
    return this.#deps.notifiers.length > 0;
  }

  /**
   * Tells the approvers of `stage` on each channel not yet told for it. Returns on how many
   * channels a card went out now. Only a pending request is announced.
   */
  async notify(requestId: string, stage: NotificationStage): Promise<number> {
    const { store, sink, notifiers, onError } = this.#deps;
    if (notifiers.length === 0) return 0;
    const request = await store.get(requestId);
    if (!request?.approval || request.status !== 'pending') return 0;
    const approval = request.approval;
    if (stage === 'escalate' && !approval.escalated) return 0;
    const told = new Set(
      sentEvents(await store.listEvents(requestId))
        .filter((event) => stageOf(event) === stage)
        .map((event) => String(event.data.channel)),
    );
    const card = approvalCard(request, this.#cardOptions);
    const groups = stage === 'escalate' ? approval.escalationGroups : activeGroups(approval);
    const directory = this.#deps.directory();
    let sent = 0;
    for (const notifier of channelsFor(request, notifiers)) {
      if (told.has(notifier.channel)) continue;
      const target: NotificationTarget = {
        stage,
        groups,
        destinations: destinationsFor(directory, notifier.channel, groups),
      };
      try {
        const receipt = await notifier.notify(card, target);
        if (!receipt || receipt.recipients.length === 0) continue;
        const after = await sink.recordNotification(requestId, {
          channel: notifier.channel,
          recipients: receipt.recipients,
          ...(receipt.reference ? { reference: receipt.reference } : {}),
          ...(stage === 'escalate' ? { escalation: true } : {}),
        });
        sent++;
        // A vote that committed while the card was on its way found no reference to update: the
        // card shows the request as it was read, so bring it up to date now.
        if (receipt.reference && after.version !== request.version + 1) {
          await notifier.update(approvalCard(after, this.#cardOptions), receipt.reference);
        }
      } catch (error) {
        onError(error, { requestId, channel: notifier.channel, what: 'notify', stage });
      }
    }
    return sent;
  }

  /**
   * What a committed transition owes the approvers' channels: a new pending request is announced
   * (`announce`; the AWS workflow announces through its own Notify stage instead), an escalation
   * is announced to the escalation groups, and any change a card shows refreshes the cards.
   * Never throws: failures go to `onError`.
   */
  async afterCommit(transition: Transition, options: { announce: boolean }): Promise<void> {
    if (this.#deps.notifiers.length === 0) return;
    const requestId = transition.request.id;
    const types = new Set(transition.events.map((event) => event.type));
    try {
      if (changesCard(transition)) await this.refresh(requestId);
      if (options.announce && types.has('approval.requested')) await this.notify(requestId, 'notify');
      if (options.announce && types.has('request.escalated')) await this.notify(requestId, 'escalate');
    } catch (error) {
      // Reading the store failed; the channels themselves report through onError already.
      this.#deps.onError(error, { requestId, channel: '*', what: 'notify' });
    }
  }

  /**
   * Brings every card posted for the request up to date (votes, escalation, the outcome; no
   * buttons once decided). Returns how many cards were updated.
   */
  async refresh(requestId: string): Promise<number> {
    const { store, notifiers, onError } = this.#deps;
    if (notifiers.length === 0) return 0;
    const request = await store.get(requestId);
    if (!request) return 0;
    const posted = sentEvents(await store.listEvents(requestId)).filter(
      (event) => typeof event.data.reference === 'string',
    );
    if (posted.length === 0) return 0;
    const card: ApprovalCard = approvalCard(request, this.#cardOptions);
    let updated = 0;
    for (const event of posted) {
      const notifier = notifiers.find((n) => n.channel === event.data.channel);
      if (!notifier) continue;
      try {
        await notifier.update(card, event.data.reference as string);
        updated++;
      } catch (error) {
        onError(error, { requestId, channel: notifier.channel, what: 'update' });
      }
    }
    return updated;
  }
}
