/**
 * The approvers' channels of the local gateway, from the config file (`slack`, `teams`, `webhook`
 * blocks; docs/chat.md). A channel without a block is absent: the gateway still works through the
 * API and CLI.
 */
import { type TeamsChannel, teamsChannel } from '../adapters/chat/teams/index.ts';
import type { ApprovalNotifier } from '../core/ports/notifier.port.ts';
import type { Logger } from '../observability/logger.ts';
import type { LocalConfig } from './config.ts';

export async function localNotifiers(config: LocalConfig, logger: Logger): Promise<ApprovalNotifier[]> {
  const notifiers: ApprovalNotifier[] = [];
  const teams = localTeams(config, logger);
  if (teams) notifiers.push(teams.notifier);
  // Loaded only when configured: a gateway without Slack starts without the Slack SDK.
  if (config.slack) {
    const { slackWebClient } = await import('../adapters/chat/slack/client.ts');
    const { SlackNotifier } = await import('../adapters/chat/slack/notifier.ts');
    const client = slackWebClient({ botToken: config.slack.botToken, apiUrl: config.slack.apiUrl }, logger);
    notifiers.push(new SlackNotifier({ client, defaultChannel: config.slack.channel }));
  }
  if (config.webhook) {
    const { WebhookNotifier } = await import('../adapters/chat/webhook/notifier.ts');
    notifiers.push(new WebhookNotifier(config.webhook));
  }
  return notifiers;
}

const teamsChannels = new WeakMap<LocalConfig, TeamsChannel>();

/** The Teams channel of `config` (one per config: the notifier and the endpoint share it). */
export function localTeams(config: LocalConfig, logger?: Logger): TeamsChannel | undefined {
  const settings = config.teams;
  if (!settings) return undefined;
  let channel = teamsChannels.get(config);
  if (!channel) {
    const { conversation, ...rest } = settings;
    channel = teamsChannel(
      { ...rest, ...(conversation ? { defaultConversation: conversation } : {}) },
      {
        onPartialFailure: (to, error) =>
          logger?.error('Teams card not posted to one conversation', { conversation: to, error }),
      },
    );
    teamsChannels.set(config, channel);
  }
  return channel;
}
