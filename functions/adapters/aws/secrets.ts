/**
 * Secrets Manager, read once per cold start: chat credentials (Slack signing secret and bot token,
 * the webhook's shared secret) never sit in a function's environment or in the template.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/** The secret's fields, which must be a JSON object of strings; throws naming what is wrong. */
export async function readJsonSecret(
  secretId: string,
  client = defaultClient(),
): Promise<Record<string, string>> {
  const out = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
  let parsed: unknown;
  try {
    parsed = JSON.parse(out.SecretString ?? '');
  } catch {
    throw new Error(
      `secret ${secretId} is not a JSON object; store it as {"field": "value", …} (docs/chat.md)`,
    );
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new Error(
      `secret ${secretId} is not a JSON object; store it as {"field": "value", …} (docs/chat.md)`,
    );
  }
  return Object.fromEntries(
    Object.entries(parsed as Record<string, unknown>).filter(
      (entry): entry is [string, string] => typeof entry[1] === 'string',
    ),
  );
}

function defaultClient(): SecretsManagerClient {
  return new SecretsManagerClient({
    maxAttempts: 3,
    requestHandler: { connectionTimeout: 1_000, requestTimeout: 5_000, throwOnRequestTimeout: true },
  });
}
