/**
 * The approvers' channels of the local gateway, from the config file (`slack`, `teams`, `webhook`
 * blocks; docs/chat.md). A channel without a block is absent: the gateway still works through the
 * API and CLI.
 */
import type { ApprovalNotifier } from '../core/ports/notifier.port.ts';
import type { Logger } from '../observability/logger.ts';
import type { LocalConfig } from './config.ts';

export async function localNotifiers(config: LocalConfig, logger: Logger): Promise<ApprovalNotifier[]> {
  const notifiers: ApprovalNotifier[] = [];
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
