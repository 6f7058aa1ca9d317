/**
 * The Teams bot on AWS, from the function's environment (set by the stack's TeamsBot construct):
 * the app id, cloud and conversation in plain variables, the client secret in Secrets Manager, read
 * once per cold start. Absent TEAMS_APP_ID: no Teams channel.
 */

import { readSecretString } from '../adapters/aws/secrets.ts';
import {
  TEAMS_CLOUDS,
  type TeamsChannel,
  type TeamsCloud,
  teamsChannel,
} from '../adapters/chat/teams/index.ts';
import type { Logger } from '../observability/logger.ts';
import { MissingEnvironmentError, optionalEnv, requireEnv } from './env.ts';

export const TEAMS_ENV = {
  appId: 'TEAMS_APP_ID',
  /** ARN of the secret whose SecretString is the app registration's client secret. */
  secretArn: 'TEAMS_APP_SECRET_ARN',
  tenantId: 'TEAMS_TENANT_ID',
  /** `public`, `gcc`, `gcchigh` or `dod`. @default public */
  cloud: 'TEAMS_CLOUD',
  /** Conversation for groups policy data does not route. */
  conversation: 'TEAMS_CONVERSATION_ID',
  /** Endpoint overrides (a cloud not listed, a regional Bot Connector). */
  serviceUrl: 'TEAMS_SERVICE_URL',
  openIdMetadataUrl: 'TEAMS_OPENID_METADATA_URL',
  tokenUrl: 'TEAMS_TOKEN_URL',
} as const;

let channel: Promise<TeamsChannel | undefined> | undefined;

/** The Teams channel of this function (built once), or undefined when Teams is not configured. */
export function teamsFromEnv(logger: Logger): Promise<TeamsChannel | undefined> {
  channel ??= build(logger);
  return channel;
}

async function build(logger: Logger): Promise<TeamsChannel | undefined> {
  const appId = optionalEnv(TEAMS_ENV.appId);
  if (!appId) return undefined;
  const secretArn = requireEnv(
    TEAMS_ENV.secretArn,
    'the Secrets Manager secret holding the Teams bot’s client secret',
  );
  const cloud = optionalEnv(TEAMS_ENV.cloud) ?? 'public';
  if (!(TEAMS_CLOUDS as readonly string[]).includes(cloud)) {
    throw new MissingEnvironmentError(
      TEAMS_ENV.cloud,
      `"${cloud}" is not a Teams cloud; use one of ${TEAMS_CLOUDS.join(', ')}`,
    );
  }
  const appPassword = await readSecretString(secretArn);
  if (!appPassword) {
    throw new Error(
      `the secret ${secretArn} has no SecretString; store the Teams app's client secret in it as plain text`,
    );
  }
  const optional = (name: string) => optionalEnv(name);
  const tenantId = optional(TEAMS_ENV.tenantId);
  const conversation = optional(TEAMS_ENV.conversation);
  const serviceUrl = optional(TEAMS_ENV.serviceUrl);
  const openIdMetadataUrl = optional(TEAMS_ENV.openIdMetadataUrl);
  const tokenUrl = optional(TEAMS_ENV.tokenUrl);
  const onPartialFailure = (to: string, error: Error) =>
    logger.error('Teams card not posted to one conversation', { conversation: to, error });
  return teamsChannel(
    {
      appId,
      appPassword,
      cloud: cloud as TeamsCloud,
      ...(tenantId ? { tenantId } : {}),
      ...(conversation ? { defaultConversation: conversation } : {}),
      ...(serviceUrl ? { serviceUrl } : {}),
      ...(openIdMetadataUrl ? { openIdMetadataUrl } : {}),
      ...(tokenUrl ? { tokenUrl } : {}),
    },
    { onPartialFailure },
  );
}
