/**
 * The Slack Web API client the notifier and the interaction handler share: bounded retries (a
 * Notify stage or a click must not wait half an hour on Slack's default retry policy), a timeout
 * far inside Slack's 3 s for interactions, and the gateway's logger.
 */
import { LogLevel, type Logger as SlackLogger, WebClient } from '@slack/web-api';
import type { Logger } from '../../../observability/logger.ts';

export interface SlackClientOptions {
  readonly botToken: string;
  /** The Web API's base URL, ending in `/` (`https://slack.com/api/`; a stand-in in tests). */
  readonly apiUrl?: string;
  /** Per call. @default 2500 */
  readonly timeoutMs?: number;
}

export function slackWebClient(options: SlackClientOptions, logger: Logger): WebClient {
  return new WebClient(options.botToken, {
    ...(options.apiUrl ? { slackApiUrl: options.apiUrl } : {}),
    timeout: options.timeoutMs ?? 2500,
    retryConfig: { retries: 2, factor: 2, minTimeout: 100, maxTimeout: 1000 },
    // A rate-limited call fails at once: the dispatcher reports it and carries on with the others.
    rejectRateLimitedCalls: true,
    logger: slackLogger(logger),
  });
}

function slackLogger(logger: Logger): SlackLogger {
  let level = LogLevel.WARN;
  const text = (parts: unknown[]) => parts.map((part) => String(part)).join(' ');
  return {
    debug: (...parts: unknown[]) => logger.debug('slack client', { detail: text(parts) }),
    info: (...parts: unknown[]) => logger.info('slack client', { detail: text(parts) }),
    warn: (...parts: unknown[]) => logger.warn('slack client', { detail: text(parts) }),
    error: (...parts: unknown[]) => logger.error('slack client', { detail: text(parts) }),
    setLevel: (next: LogLevel) => {
      level = next;
    },
    getLevel: () => level,
    setName: () => {},
  };
}
