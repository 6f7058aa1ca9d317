/**
 * The Slack secret on AWS, read from Secrets Manager (moto) at init: a secret not filled in yet
 * leaves Slack off with an error logged, and the functions start; a filled one turns it on.
 */
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { motoEndpoint, uniqueName } from '../../harness/index.ts';

const secrets = new SecretsManagerClient({ endpoint: motoEndpoint(), region: 'us-east-1' });

async function secretWith(value: unknown): Promise<string> {
  const out = await secrets.send(
    new CreateSecretCommand({ Name: uniqueName('ala-slack'), SecretString: JSON.stringify(value) }),
  );
  return out.ARN as string;
}

function recordingLogger() {
  const errors: { message: string; attributes?: Record<string, unknown> }[] = [];
  return {
    errors,
    logger: {
      debug() {},
      info() {},
      warn() {},
      error(message: string, attributes?: Record<string, unknown>) {
        errors.push({ message, ...(attributes ? { attributes } : {}) });
      },
    },
  };
}

describe('Slack secret on AWS', () => {
  afterEach(() => {
    for (const name of ['SLACK_SECRET_ARN', 'SLACK_CHANNEL']) delete process.env[name];
    vi.resetModules();
  });
  afterAll(() => secrets.destroy());

  it('leaves Slack off, with an error naming the missing fields, while the secret is not filled in', async () => {
    const arn = await secretWith({});
    Object.assign(process.env, {
      SLACK_SECRET_ARN: arn,
      SLACK_CHANNEL: 'C0AWS',
      AWS_ENDPOINT_URL_SECRETS_MANAGER: motoEndpoint(),
    });
    const { chatNotifiersFromEnv } = await import('../../../functions/handlers/chat.ts');
    const { errors, logger } = recordingLogger();
    expect(await chatNotifiersFromEnv(logger)).toEqual([]);
    expect(errors).toMatchObject([
      { message: /Slack is off: its secret is not filled in/, attributes: { secret: arn, has: [] } },
    ]);
  });

  it('turns Slack on once the secret holds the signing secret and the bot token', async () => {
    const arn = await secretWith({ signingSecret: 'filled-in-signing-secret', botToken: 'xoxb-filled' });
    Object.assign(process.env, {
      SLACK_SECRET_ARN: arn,
      SLACK_CHANNEL: 'C0AWS',
      AWS_ENDPOINT_URL_SECRETS_MANAGER: motoEndpoint(),
    });
    const { chatNotifiersFromEnv } = await import('../../../functions/handlers/chat.ts');
    const { errors, logger } = recordingLogger();
    const notifiers = await chatNotifiersFromEnv(logger);
    expect(notifiers.map((n) => n.channel)).toEqual(['slack']);
    expect(errors).toEqual([]);
  });
});
