/**
 * The signed webhook on AWS, from the function's environment as the stack sets it (WEBHOOK_URL,
 * WEBHOOK_SECRET_ARN): the shared secret read from moto's Secrets Manager, deliveries signed with
 * it to a real receiver on 127.0.0.1; a secret not filled in leaves the webhook off, loudly, and
 * never fails the function's start.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ApprovalCard } from '../../../functions/core/approval-card.ts';
import { chatNotifiersFromEnv } from '../../../functions/handlers/chat.ts';
import type { Logger } from '../../../functions/observability/logger.ts';
import { motoEndpoint, uniqueName } from '../../harness/index.ts';

describe('Signed webhook on AWS, from the environment', () => {
  const secrets = new SecretsManagerClient({ endpoint: motoEndpoint(), region: 'us-east-1' });
  let receiver: Server;
  let url: string;
  const received: { verified: boolean; type: string }[] = [];
  const errors: string[] = [];
  const logger: Logger = {
    debug() {},
    info() {},
    warn() {},
    error(message: string) {
      errors.push(message);
    },
  } as unknown as Logger;
  let secretValue = '';

  const secretWith = async (value: Record<string, string>): Promise<string> =>
    String(
      (
        await secrets.send(
          new CreateSecretCommand({ Name: uniqueName('ala-webhook'), SecretString: JSON.stringify(value) }),
        )
      ).ARN,
    );

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const timestamp = String(req.headers['ala-webhook-timestamp']);
        const expected = Buffer.from(
          `v1=${createHmac('sha256', secretValue).update(`${timestamp}.${raw}`).digest('hex')}`,
        );
        const got = Buffer.from(String(req.headers['ala-webhook-signature']));
        received.push({
          verified: got.length === expected.length && timingSafeEqual(got, expected),
          type: JSON.parse(raw).type,
        });
        res.writeHead(204).end();
      });
    });
    receiver.listen(0, '127.0.0.1');
    await once(receiver, 'listening');
    url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/approvals`;
    process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = motoEndpoint();
  });

  afterEach(() => {
    for (const name of ['WEBHOOK_URL', 'WEBHOOK_SECRET_ARN']) delete process.env[name];
    errors.length = 0;
  });

  afterAll(async () => {
    delete process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER;
    receiver?.close();
    secrets.destroy();
  });

  it('signs deliveries with the secret the stack stores', async () => {
    secretValue = randomBytes(32).toString('hex');
    process.env.WEBHOOK_URL = url;
    process.env.WEBHOOK_SECRET_ARN = await secretWith({ secret: secretValue });
    const notifiers = await chatNotifiersFromEnv(logger);
    expect(notifiers.map((n) => n.channel)).toEqual(['webhook']);
    await notifiers[0]?.update({ requestId: 'req_webhook_aws' } as unknown as ApprovalCard, url);
    expect(received).toEqual([{ verified: true, type: 'approval.updated' }]);
    expect(errors).toEqual([]);
  }, 60_000);

  it.each([
    ['not filled in', {}],
    ['too short to be a shared secret', { secret: 'short' }],
  ])(
    'stays off, logged, when the secret is %s',
    async (_, value) => {
      process.env.WEBHOOK_URL = url;
      process.env.WEBHOOK_SECRET_ARN = await secretWith(value);
      expect(await chatNotifiersFromEnv(logger)).toEqual([]);
      expect(errors).toEqual([expect.stringMatching(/the webhook is off: its secret must hold/)]);
    },
    60_000,
  );
});
