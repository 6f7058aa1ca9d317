import { RemovalPolicy, Token, Validations } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { ENV } from '../../functions/handlers/env.ts';
import type { GatewayFunction } from './gateway-function.ts';

export interface WebhookProps {
  /** Where every approval card is delivered, signed (docs/chat.md#signed-webhook). https only. */
  readonly url: string;
  /**
   * An existing Secrets Manager secret {"secret": "…"} holding the shared HMAC secret (at least
   * 32 characters) receivers verify deliveries with.
   * @default - the stack creates one with a generated 64-character secret, encrypted with the stack's key
   */
  readonly secretArn?: string;
}

export interface WebhookNotificationsProps extends WebhookProps {
  readonly key: kms.IKey;
  /** Refreshes cards after votes. */
  readonly api: GatewayFunction;
  /** Delivers cards in the Notify and Escalate stages and the outcome in Finalize. */
  readonly workflow: GatewayFunction;
  /** Re-delivers cards the workflow's Notify could not. */
  readonly sweeper?: GatewayFunction;
}

/**
 * Signed webhook deliveries of every approval card on AWS: the URL in the functions' environment,
 * the shared secret in Secrets Manager (read at init, never in the environment). Nothing is added
 * to the API: a webhook only receives; votes come back through the API like any other client's.
 */
export class WebhookNotifications extends Construct {
  readonly secret: secretsmanager.ISecret;

  constructor(scope: Construct, id: string, props: WebhookNotificationsProps) {
    super(scope, id);
    if (!Token.isUnresolved(props.url) && !/^https:\/\/[^\s/]+/.test(props.url)) {
      throw new Error(
        `webhook.url must be an https URL (deliveries carry whole approval cards), got ${JSON.stringify(props.url)}`,
      );
    }
    if (props.secretArn !== undefined) {
      this.secret = secretsmanager.Secret.fromSecretCompleteArn(this, 'Secret', props.secretArn);
    } else {
      const secret = new secretsmanager.Secret(this, 'Secret', {
        description: 'Shared HMAC secret of the approvals webhook ({"secret": "…"}; docs/chat.md)',
        encryptionKey: props.key,
        removalPolicy: RemovalPolicy.RETAIN,
        generateSecretString: {
          secretStringTemplate: '{}',
          generateStringKey: 'secret',
          passwordLength: 64,
          excludePunctuation: true,
        },
      });
      const rotation =
        'The webhook secret is shared with a receiver outside AWS that must be told of a new value first; it is rotated by hand (docs/chat.md says how), so there is no rotation Lambda to attach.';
      Validations.of(secret).acknowledge(
        { id: 'AwsSolutions-SMG4', reason: rotation },
        { id: 'NIST.800.53.R5-SecretsManagerRotationEnabled', reason: rotation },
      );
      this.secret = secret;
    }
    for (const fn of [props.api, props.workflow, props.sweeper]) {
      if (fn === undefined) continue;
      fn.readSecret('Webhook', this.secret.secretArn, props.key);
      fn.function.addEnvironment(ENV.webhookUrl, props.url);
      fn.function.addEnvironment(ENV.webhookSecretArn, this.secret.secretArn);
    }
  }
}
