/**
 * A generic signed webhook: any tool can subscribe to approval cards. Each delivery is a JSON POST
 *
 *   {"type": "approval.requested" | "approval.updated", "stage"?: "notify" | "escalate", "card": {…}}
 *
 * (`card` is the channel-neutral ApprovalCard; fields an agent supplied are plain JSON strings, to
 * be escaped by whoever displays them) with three headers:
 *
 *   Ala-Webhook-Id:        a fresh id per delivery (deduplicate on it)
 *   Ala-Webhook-Timestamp: seconds since the epoch when it was signed
 *   Ala-Webhook-Signature: v1=<hex HMAC-SHA256 of "<timestamp>.<raw body>" with the shared secret>
 *
 * A receiver recomputes the signature over the raw body, compares in constant time, and refuses
 * timestamps more than five minutes off and ids it has seen (docs/chat.md has a verifier).
 * Any 2xx is success; anything else fails this channel only (the dispatcher carries on).
 */
import { createHmac, randomUUID } from 'node:crypto';
import type { ApprovalCard } from '../../../core/approval-card.ts';
import type {
  ApprovalNotifier,
  NotificationReceipt,
  NotificationTarget,
} from '../../../core/ports/notifier.port.ts';

export const WEBHOOK_HEADERS = {
  id: 'ala-webhook-id',
  timestamp: 'ala-webhook-timestamp',
  signature: 'ala-webhook-signature',
} as const;

/** `v1=` + hex HMAC-SHA256 over `<timestamp>.<body>`. */
export function webhookSignature(secret: string, timestamp: number | string, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

export interface WebhookNotifierOptions {
  /** Where cards go when policy data routes none of the groups (`notifications.webhook.<group>`). */
  readonly url: string;
  readonly secret: string;
  /** Per delivery. @default 3000 */
  readonly timeoutMs?: number;
  readonly now?: () => Date;
}

export class WebhookNotifier implements ApprovalNotifier {
  readonly channel = 'webhook';
  readonly #options: WebhookNotifierOptions;

  constructor(options: WebhookNotifierOptions) {
    this.#options = options;
  }

  async notify(card: ApprovalCard, target: NotificationTarget): Promise<NotificationReceipt | undefined> {
    const urls = target.destinations.length > 0 ? target.destinations : [this.#options.url];
    const delivered: string[] = [];
    let failure: unknown;
    for (const url of urls) {
      try {
        await this.#deliver(url, { type: 'approval.requested', stage: target.stage, card });
        delivered.push(url);
      } catch (error) {
        failure ??= error;
      }
    }
    if (delivered.length === 0) {
      if (failure) throw failure;
      return undefined;
    }
    // The hosts say who was told; the reference keeps the URLs, for the updates.
    return { recipients: delivered.map((url) => new URL(url).host), reference: delivered.join(' ') };
  }

  async update(card: ApprovalCard, reference: string): Promise<void> {
    const urls = reference.split(' ').filter((url) => url !== '');
    const results = await Promise.allSettled(
      urls.map((url) => this.#deliver(url, { type: 'approval.updated', card })),
    );
    const failed = results.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
  }

  async #deliver(url: string, message: Record<string, unknown>): Promise<void> {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new Error(
        `webhook destination ${JSON.stringify(url)} is not a URL; fix notifications.webhook in policy data`,
      );
    }
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
      throw new Error(`webhook destination ${parsed.origin} is not http(s)`);
    }
    const body = JSON.stringify(message);
    const timestamp = Math.floor((this.#options.now?.() ?? new Date()).getTime() / 1000);
    const response = await fetch(parsed, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        [WEBHOOK_HEADERS.id]: randomUUID(),
        [WEBHOOK_HEADERS.timestamp]: String(timestamp),
        [WEBHOOK_HEADERS.signature]: webhookSignature(this.#options.secret, timestamp, body),
      },
      body,
      redirect: 'error',
      signal: AbortSignal.timeout(this.#options.timeoutMs ?? 3000),
    });
    // Drain the answer so the connection is reused; its content means nothing here.
    await response.arrayBuffer().catch(() => undefined);
    if (!response.ok) {
      throw new Error(`webhook ${parsed.host} answered ${response.status} to a card delivery`);
    }
  }
}
