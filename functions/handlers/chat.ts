/**
 * Chat on AWS, from the function's environment: the Slack settings (secret read from Secrets
 * Manager once per cold start), the approvers' notifiers, and the Slack interactivity endpoint of
 * the api function. Nothing configured: no notifier, and the Slack route answers 404.
 *
 * SLACK_SECRET_ARN names a JSON secret {"signingSecret": "…", "botToken": "xoxb-…"};
 * SLACK_CHANNEL is the default channel id; SLACK_TEAM_ID the only workspace whose clicks count;
 * SLACK_API_URL overrides the Web API base (tests).
 * WEBHOOK_URL and WEBHOOK_SECRET_ARN ({"secret": "…"}) turn on the signed webhook.
 */
import type { ApprovalNotifier } from '../core/ports/notifier.port.ts';
import type { ApprovalService } from '../core/service.ts';
import type { SlackEndpoint } from '../http/context.ts';
import type { Logger } from '../observability/logger.ts';
import { ENV, optionalEnv, requireEnv } from './env.ts';

export interface SlackSettings {
  readonly signingSecret: string;
  readonly botToken: string;
  readonly channel: string;
  readonly apiUrl?: string;
  readonly teamId?: string;
}

let slackSettings: Promise<SlackSettings | undefined> | undefined;

/**
 * The Slack settings, read once per cold start; undefined when SLACK_SECRET_ARN is unset, or when
 * the secret does not hold both fields yet (a fresh deploy): Slack stays off, logged as an error,
 * and the rest of the API works.
 */
export function slackSettingsFromEnv(logger: Logger): Promise<SlackSettings | undefined> {
  slackSettings ??= (async () => {
    const arn = optionalEnv(ENV.slackSecretArn);
    if (!arn) return undefined;
    const channel = requireEnv(ENV.slackChannel, 'the Slack channel id cards go to by default');
    // Loaded only when configured, like every chat module: a stack without chat starts without them.
    const { readJsonSecret } = await import('../adapters/aws/secrets.ts');
    const secret = await readJsonSecret(arn);
    const { signingSecret, botToken } = secret;
    if (!signingSecret || !botToken) {
      logger.error('Slack is off: its secret is not filled in (docs/chat.md)', {
        secret: arn,
        expected: ['signingSecret', 'botToken'],
        has: Object.keys(secret),
      });
      return undefined;
    }
    const apiUrl = optionalEnv(ENV.slackApiUrl);
    const teamId = optionalEnv(ENV.slackTeamId);
    return { signingSecret, botToken, channel, ...(apiUrl ? { apiUrl } : {}), ...(teamId ? { teamId } : {}) };
  })();
  return slackSettings;
}

/** Every channel configured in the environment, in a fixed order. */
export async function chatNotifiersFromEnv(logger: Logger): Promise<ApprovalNotifier[]> {
  const notifiers: ApprovalNotifier[] = [];
  const slack = await slackSettingsFromEnv(logger);
  if (slack) {
    const { slackWebClient } = await import('../adapters/chat/slack/client.ts');
    const { SlackNotifier } = await import('../adapters/chat/slack/notifier.ts');
    const client = slackWebClient(
      { botToken: slack.botToken, ...(slack.apiUrl ? { apiUrl: slack.apiUrl } : {}) },
      logger,
    );
    notifiers.push(new SlackNotifier({ client, defaultChannel: slack.channel }));
  }
  const webhookUrl = optionalEnv(ENV.webhookUrl);
  if (webhookUrl) {
    const secretArn = requireEnv(ENV.webhookSecretArn, 'the webhook shared secret');
    const { readJsonSecret } = await import('../adapters/aws/secrets.ts');
    const { secret } = await readJsonSecret(secretArn);
    if (!secret || secret.length < 32) {
      // Like Slack with an unfilled secret: the webhook stays off, loudly, and the rest works.
      logger.error('the webhook is off: its secret must hold {"secret": "…"} of at least 32 characters', {
        secret: secretArn,
        length: secret?.length ?? 0,
      });
      return notifiers;
    }
    const { WebhookNotifier } = await import('../adapters/chat/webhook/notifier.ts');
    notifiers.push(new WebhookNotifier({ url: webhookUrl, secret }));
  }
  return notifiers;
}

/** The api function's Slack route: signature, replay guard on the requests table, interactions. */
export async function slackEndpointFromEnv(
  service: ApprovalService,
  requestsTable: string,
  logger: Logger,
): Promise<SlackEndpoint | undefined> {
  const slack = await slackSettingsFromEnv(logger);
  if (!slack) return undefined;
  const { slackWebClient } = await import('../adapters/chat/slack/client.ts');
  const { SlackInteractions } = await import('../adapters/chat/slack/interactions.ts');
  const { DynamoDbReplayGuard } = await import('../adapters/aws/replay-guard.ts');
  const { createDynamoDbClient } = await import('../adapters/dynamodb/client.ts');
  const client = slackWebClient(
    { botToken: slack.botToken, ...(slack.apiUrl ? { apiUrl: slack.apiUrl } : {}) },
    logger,
  );
  return {
    signingSecret: slack.signingSecret,
    replay: new DynamoDbReplayGuard(createDynamoDbClient(), { tableName: requestsTable }),
    interactions: new SlackInteractions({
      service,
      client,
      logger,
      ...(slack.teamId ? { teamId: slack.teamId } : {}),
    }),
  };
}
