/**
 * Secrets Manager, read once per cold start: chat credentials (Slack signing secret and bot token,
 * the webhook's shared secret) never sit in a function's environment or in the template.
 *
 * The package is loaded when a secret is first read: a function whose configuration names no
 * secret (the api without chat or review page) never loads it (docs/decisions/0015-performance.md).
 */
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/** The secret's text (undefined when it holds none); a client made here is released after. */
export async function readSecretString(
  secretId: string,
  client?: SecretsManagerClient,
): Promise<string | undefined> {
  const { GetSecretValueCommand, SecretsManagerClient } = await import('@aws-sdk/client-secrets-manager');
  const own = client ?? defaultClient(SecretsManagerClient);
  try {
    return (await own.send(new GetSecretValueCommand({ SecretId: secretId }))).SecretString;
  } finally {
    if (!client) own.destroy();
  }
}

/** The secret's fields, which must be a JSON object of strings; throws naming what is wrong. */
export async function readJsonSecret(
  secretId: string,
  client?: SecretsManagerClient,
): Promise<Record<string, string>> {
  const text = await readSecretString(secretId, client);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text ?? '');
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

function defaultClient(Client: typeof SecretsManagerClient): SecretsManagerClient {
  return new Client({
    maxAttempts: 3,
    requestHandler: { connectionTimeout: 1_000, requestTimeout: 5_000, throwOnRequestTimeout: true },
  });
}
