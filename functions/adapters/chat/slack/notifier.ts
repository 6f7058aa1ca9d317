/**
 * Slack as an approvers' channel: posts the card (chat.postMessage) to each channel the policy
 * data routes the groups to, or to the configured default channel, and replaces it (chat.update)
 * on every vote and on the outcome. The reference kept in the audit event is `<channel>/<ts>` per
 * posted message, space-separated.
 */
import type { WebClient } from '@slack/web-api';
import type { ApprovalCard } from '../../../core/approval-card.ts';
import type {
  ApprovalNotifier,
  NotificationReceipt,
  NotificationTarget,
} from '../../../core/ports/notifier.port.ts';
import { renderCard } from './render.ts';

export interface SlackNotifierOptions {
  readonly client: WebClient;
  /** Where cards go when policy data routes none of the groups (a channel id such as C0123ABCD). */
  readonly defaultChannel: string;
}

export class SlackNotifier implements ApprovalNotifier {
  readonly channel = 'slack';
  readonly #client: WebClient;
  readonly #defaultChannel: string;

  constructor(options: SlackNotifierOptions) {
    this.#client = options.client;
    this.#defaultChannel = options.defaultChannel;
  }

  async notify(card: ApprovalCard, target: NotificationTarget): Promise<NotificationReceipt | undefined> {
    const channels = target.destinations.length > 0 ? target.destinations : [this.#defaultChannel];
    const { text, blocks } = renderCard(card);
    const posted: string[] = [];
    const recipients: string[] = [];
    let failure: unknown;
    for (const channel of channels) {
      try {
        const answer = await this.#client.chat.postMessage({
          channel,
          text,
          blocks,
          unfurl_links: false,
          unfurl_media: false,
        });
        const id = answer.channel ?? channel;
        if (!answer.ts) throw new Error(`chat.postMessage to ${channel} answered without a message ts`);
        posted.push(`${id}/${answer.ts}`);
        recipients.push(id);
      } catch (error) {
        // One channel failing (archived, bot not invited) does not keep the card from the others.
        failure ??= error;
      }
    }
    if (posted.length === 0) {
      if (failure) throw failure;
      return undefined;
    }
    return { recipients, reference: posted.join(' ') };
  }

  async update(card: ApprovalCard, reference: string): Promise<void> {
    const { text, blocks } = renderCard(card);
    const messages = reference.split(' ').filter((part) => part !== '');
    const results = await Promise.allSettled(
      messages.map(async (message) => {
        const slash = message.indexOf('/');
        if (slash <= 0) throw new Error(`not a Slack message reference: ${JSON.stringify(message)}`);
        return this.#client.chat.update({
          channel: message.slice(0, slash),
          ts: message.slice(slash + 1),
          text,
          blocks,
        });
      }),
    );
    const failed = results.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
  }
}
