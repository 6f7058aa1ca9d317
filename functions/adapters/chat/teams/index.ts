/**
 * The Teams channel from its configuration: the notifier (cards out) and what the messaging
 * endpoint needs (clicks in), over one endpoint set, so both talk to the same cloud.
 */
import { type TeamsCloud, type TeamsEndpoints, teamsEndpoints } from './clouds.ts';
import { TeamsNotifier } from './notifier.ts';
import { BotFrameworkVerifier, type Fetch } from './verifier.ts';

export interface TeamsSettings {
  /** The bot's Entra application (client) id: the audience of the channel's tokens. */
  readonly appId: string;
  /** The app's client secret. */
  readonly appPassword: string;
  /** The Entra tenant of the app registration and of the approvers. */
  readonly tenantId?: string;
  readonly cloud: TeamsCloud;
  /** Conversation for groups policy data does not route (`notifications.teams`). */
  readonly defaultConversation?: string;
  readonly serviceUrl?: string;
  readonly openIdMetadataUrl?: string;
  readonly tokenUrl?: string;
}

/** What the messaging endpoint (`POST /v1/integrations/teams/messages`) needs. */
export interface TeamsInbound {
  readonly verifier: BotFrameworkVerifier;
  /** When set, clicks from any other tenant are refused. */
  readonly tenantId?: string;
}

export interface TeamsChannel {
  readonly endpoints: TeamsEndpoints;
  readonly notifier: TeamsNotifier;
  readonly inbound: TeamsInbound;
}

export function teamsChannel(
  settings: TeamsSettings,
  options: { fetch?: Fetch; onPartialFailure?: (conversation: string, error: Error) => void } = {},
): TeamsChannel {
  const endpoints = teamsEndpoints(settings);
  const transport = options.fetch ? { fetch: options.fetch } : {};
  return {
    endpoints,
    notifier: new TeamsNotifier({
      appId: settings.appId,
      appPassword: settings.appPassword,
      endpoints,
      ...(settings.defaultConversation ? { defaultConversation: settings.defaultConversation } : {}),
      ...(options.onPartialFailure ? { onPartialFailure: options.onPartialFailure } : {}),
      ...transport,
    }),
    inbound: {
      verifier: new BotFrameworkVerifier({ appId: settings.appId, endpoints, ...transport }),
      ...(settings.tenantId ? { tenantId: settings.tenantId } : {}),
    },
  };
}

export { renderTeamsCard } from './card.ts';
export { TEAMS_CLOUDS, type TeamsCloud } from './clouds.ts';
export { BotAuthenticationError } from './verifier.ts';
