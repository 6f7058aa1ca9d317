/**
 * Posts approval cards to Teams conversations and keeps them current, through the Bot Connector REST
 * API (proactive messages) with the bot's own app credentials (OAuth client credentials against the
 * cloud's Entra endpoint). Which conversations: the ones policy data routes the asked groups to
 * (`notifications.teams.<group>`), else the configured default conversation.
 */
import type { ApprovalCard } from '../../../core/approval-card.ts';
import type {
  ApprovalNotifier,
  NotificationReceipt,
  NotificationTarget,
} from '../../../core/ports/notifier.port.ts';
import { ADAPTIVE_CARD_CONTENT_TYPE, renderTeamsCard } from './card.ts';
import type { TeamsEndpoints } from './clouds.ts';
import type { Fetch } from './verifier.ts';

export interface TeamsNotifierOptions {
  readonly appId: string;
  readonly appPassword: string;
  readonly endpoints: Pick<TeamsEndpoints, 'tokenUrl' | 'scope' | 'serviceUrl'>;
  /** Where cards go when policy data routes none of the asked groups; absent: nowhere. */
  readonly defaultConversation?: string;
  /** @default globalThis.fetch */
  readonly fetch?: Fetch;
  /** Per HTTP call. @default 10000 */
  readonly timeoutMs?: number;
  /**
   * The card went to some conversations but not to this one; the others are recorded and kept
   * current. (When it reaches none, `notify` throws.)
   */
  readonly onPartialFailure?: (conversation: string, error: Error) => void;
}

/** A Bot Connector call failed; the message says which and how. */
export class BotConnectorError extends Error {
  override name = 'BotConnectorError';
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

export class TeamsNotifier implements ApprovalNotifier {
  readonly channel = 'teams';
  readonly #options: TeamsNotifierOptions;
  readonly #fetch: Fetch;
  #token?: { readonly value: string; readonly until: number };
  #pendingToken?: Promise<string>;

  constructor(options: TeamsNotifierOptions) {
    this.#options = options;
    this.#fetch = options.fetch ?? ((url, init) => fetch(url, init));
  }

  async notify(card: ApprovalCard, target: NotificationTarget): Promise<NotificationReceipt | undefined> {
    const conversations =
      target.destinations.length > 0
        ? target.destinations
        : this.#options.defaultConversation
          ? [this.#options.defaultConversation]
          : [];
    if (conversations.length === 0) return undefined;
    const content = renderTeamsCard(card);
    const told: string[] = [];
    const references: string[] = [];
    const failures: [string, Error][] = [];
    for (const conversation of conversations) {
      try {
        const answer = (await this.#call(
          'POST',
          `v3/conversations/${encodeURIComponent(conversation)}/activities`,
          {
            type: 'message',
            attachments: [{ contentType: ADAPTIVE_CARD_CONTENT_TYPE, content }],
          },
        )) as { id?: unknown };
        if (typeof answer.id !== 'string' || answer.id === '') {
          throw new BotConnectorError(
            `the Bot Connector accepted the card for ${conversation} but returned no activity id`,
          );
        }
        told.push(conversation);
        references.push(reference(conversation, answer.id));
      } catch (error) {
        failures.push([conversation, error as Error]);
      }
    }
    if (told.length === 0)
      throw new BotConnectorError(failures.map(([c, e]) => `${c}: ${e.message}`).join('; '));
    for (const [conversation, error] of failures) this.#options.onPartialFailure?.(conversation, error);
    // One reference per conversation, in one string: `update` refreshes them all.
    return { recipients: told, reference: references.join(' ') };
  }

  async update(card: ApprovalCard, ref: string): Promise<void> {
    const content = renderTeamsCard(card);
    const failures: string[] = [];
    for (const one of ref.split(' ')) {
      const { conversation, activity } = parseReference(one);
      try {
        await this.#call(
          'PUT',
          `v3/conversations/${encodeURIComponent(conversation)}/activities/${encodeURIComponent(activity)}`,
          {
            type: 'message',
            id: activity,
            attachments: [{ contentType: ADAPTIVE_CARD_CONTENT_TYPE, content }],
          },
        );
      } catch (error) {
        failures.push(`${conversation}: ${(error as Error).message}`);
      }
    }
    if (failures.length > 0)
      throw new BotConnectorError(`updating the Teams card failed for ${failures.join('; ')}`);
  }

  async #call(method: 'POST' | 'PUT', path: string, body: unknown): Promise<unknown> {
    const url = new URL(path, this.#options.endpoints.serviceUrl).toString();
    let response: Response;
    try {
      response = await this.#fetch(url, {
        method,
        headers: { authorization: `Bearer ${await this.#accessToken()}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.#options.timeoutMs ?? 10_000),
        redirect: 'error',
      });
    } catch (error) {
      if (error instanceof BotConnectorError) throw error;
      throw new BotConnectorError(`cannot reach the Bot Connector at ${url}: ${(error as Error).message}`);
    }
    if (response.status === 401) this.#token = undefined; // revoked or rotated: fetch a new one next time
    if (!response.ok) {
      const detail = (await response.text().catch(() => '')).slice(0, 300);
      throw new BotConnectorError(
        `the Bot Connector answered ${method} ${url} with HTTP ${response.status}${detail ? `: ${detail}` : ''}; check that the bot is installed in that conversation and the app id and secret are right`,
        response.status,
      );
    }
    const text = await response.text();
    return text ? (JSON.parse(text) as unknown) : {};
  }

  /** The bot's Bot Connector token, cached until five minutes before it expires. */
  async #accessToken(): Promise<string> {
    if (this.#token && Date.now() < this.#token.until) return this.#token.value;
    this.#pendingToken ??= this.#fetchToken().finally(() => {
      this.#pendingToken = undefined;
    });
    return this.#pendingToken;
  }

  async #fetchToken(): Promise<string> {
    const { appId, appPassword, endpoints } = this.#options;
    let response: Response;
    try {
      response = await this.#fetch(endpoints.tokenUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: appId,
          client_secret: appPassword,
          scope: endpoints.scope,
        }).toString(),
        signal: AbortSignal.timeout(this.#options.timeoutMs ?? 10_000),
        redirect: 'error',
      });
    } catch (error) {
      throw new BotConnectorError(
        `cannot reach the token endpoint ${endpoints.tokenUrl}: ${(error as Error).message}`,
      );
    }
    const answer = (await response.json().catch(() => ({}))) as {
      access_token?: unknown;
      expires_in?: unknown;
      error?: unknown;
      error_description?: unknown;
    };
    if (!response.ok || typeof answer.access_token !== 'string') {
      throw new BotConnectorError(
        `the token endpoint ${endpoints.tokenUrl} refused the bot's credentials (HTTP ${response.status}${typeof answer.error === 'string' ? `, ${answer.error}` : ''}); check the app id, the secret and the tenant`,
        response.status,
      );
    }
    const seconds =
      typeof answer.expires_in === 'number' ? answer.expires_in : Number(answer.expires_in ?? 3600);
    this.#token = { value: answer.access_token, until: Date.now() + Math.max(0, seconds - 300) * 1000 };
    return answer.access_token;
  }
}

/** `conversation/activity`, each URI-encoded: conversation ids hold `:`, `@` and `;`. */
function reference(conversation: string, activity: string): string {
  return `${encodeURIComponent(conversation)}/${encodeURIComponent(activity)}`;
}

function parseReference(ref: string): { conversation: string; activity: string } {
  const [conversation, activity, ...rest] = ref.split('/');
  if (!conversation || !activity || rest.length > 0) {
    throw new BotConnectorError(`"${ref}" is not a Teams card reference (conversation/activity)`);
  }
  return { conversation: decodeURIComponent(conversation), activity: decodeURIComponent(activity) };
}
