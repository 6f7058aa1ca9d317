/**
 * Slack clicks for the local gateway: the signed HTTP callback (the app's Interactivity Request
 * URL, when the gateway is reachable), and — with an app-level token — Socket Mode, so a developer
 * approves from a real workspace with no public URL. Socket Mode needs no signature: Slack
 * authenticated the connection the app opened with its token.
 */
import type { SocketModeClient } from '@slack/socket-mode';
import type { ReplayGuard } from '../core/ports/replay.port.ts';
import type { ApprovalService } from '../core/service.ts';
import type { SlackEndpoint } from '../http/context.ts';
import type { Logger } from '../observability/logger.ts';
import type { LocalConfig } from './config.ts';

export interface LocalSlack {
  readonly endpoint: SlackEndpoint;
  /** Set when Socket Mode is connected. */
  readonly socket?: SocketModeClient;
  close(): Promise<void>;
}

export async function startLocalSlack(
  config: LocalConfig,
  service: ApprovalService,
  replay: ReplayGuard,
  logger: Logger,
): Promise<LocalSlack | undefined> {
  const slack = config.slack;
  if (!slack) return undefined;
  // Loaded only when configured: a gateway without Slack starts without the Slack SDK.
  const { slackWebClient } = await import('../adapters/chat/slack/client.ts');
  const { SlackInteractions } = await import('../adapters/chat/slack/interactions.ts');
  const client = slackWebClient({ botToken: slack.botToken, apiUrl: slack.apiUrl }, logger);
  const interactions = new SlackInteractions({
    service,
    client,
    logger,
    ...(slack.teamId ? { teamId: slack.teamId } : {}),
  });
  const endpoint: SlackEndpoint = {
    signingSecret: slack.signingSecret,
    replay,
    interactions,
  };
  if (!slack.appToken) return { endpoint, close: async () => {} };
  const { SocketModeClient } = await import('@slack/socket-mode');
  const { LogLevel } = await import('@slack/web-api');
  const socket = new SocketModeClient({
    appToken: slack.appToken,
    logLevel: LogLevel.ERROR,
    clientOptions: { slackApiUrl: slack.apiUrl },
  });
  socket.on(
    'interactive',
    async ({ ack, body }: { ack: (answer?: unknown) => Promise<void>; body: unknown }) => {
      try {
        await ack(await interactions.handle(body));
      } catch (error) {
        logger.warn('a Socket Mode interaction was not one the gateway handles', { error });
        await ack().catch(() => undefined);
      }
    },
  );
  await socket.start();
  logger.info('slack socket mode connected: clicks arrive without a public URL');
  return {
    endpoint,
    socket,
    close: async () => {
      await socket.disconnect().catch(() => undefined);
    },
  };
}
