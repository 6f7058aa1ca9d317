import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { ENV } from '../../functions/handlers/env.ts';
import type { GatewayFunction } from './gateway-function.ts';

/** Slack's interactivity callback, the one path API Gateway lets through without IAM. */
export const SLACK_INTERACTIONS_PATH = '/v1/integrations/slack/interactions';

export interface SlackProps {
  /** The channel id cards go to unless policy data routes a group elsewhere (C0123ABCD). */
  readonly channel: string;
  /**
   * An existing Secrets Manager secret {"signingSecret": "…", "botToken": "xoxb-…"}.
   * @default - the stack creates an empty one (encrypted with the stack's key) to fill in after deploy
   */
  readonly secretArn?: string;
  /**
   * The workspace (T0123ABCD) or Enterprise Grid organisation (E0123ABCD) whose clicks count; a
   * click from another workspace the app is installed in is ignored.
   * @default - clicks from any workspace the app is installed in
   */
  readonly teamId?: string;
  /** Requests per second API Gateway passes to the Slack route (its own limit). @default 10 */
  readonly throttleRateLimit?: number;
  /** @default 20 */
  readonly throttleBurstLimit?: number;
}

export interface SlackIntegrationProps extends SlackProps {
  readonly key: kms.IKey;
  /** Serves the callback and refreshes cards after votes. */
  readonly api: GatewayFunction;
  /** Posts cards in the Notify and Escalate stages and updates them in Finalize. */
  readonly workflow: GatewayFunction;
  /** Re-posts cards the workflow's Notify could not. */
  readonly sweeper?: GatewayFunction;
}

/**
 * Approval cards in Slack on AWS: the Slack secret (signing secret and bot token, read by the
 * functions at init, never in their environment), the default channel, and the route API Gateway
 * must pass without IAM authorisation (GatewayApi `unauthenticatedRoutes`): Slack cannot sign with
 * SigV4, so the api function verifies Slack's own signature over the raw body instead.
 */
export class SlackIntegration extends Construct {
  readonly secret: secretsmanager.ISecret;
  readonly route: { path: string; method: string; rateLimit: number; burstLimit: number; reason: string };

  constructor(scope: Construct, id: string, props: SlackIntegrationProps) {
    super(scope, id);
    if (!/^[CG][A-Z0-9]{2,}$/.test(props.channel)) {
      throw new Error(
        `slack.channel "${props.channel}" is not a Slack channel id (C0123ABCD: channel details → About)`,
      );
    }
    if (props.secretArn !== undefined) {
      this.secret = secretsmanager.Secret.fromSecretCompleteArn(this, 'Secret', props.secretArn);
    } else {
      const secret = new secretsmanager.Secret(this, 'Secret', {
        description: 'Action-Level Approvals: Slack app signing secret and bot token (docs/chat.md)',
        encryptionKey: props.key,
        removalPolicy: RemovalPolicy.RETAIN,
        secretObjectValue: {},
      });
      const rotation =
        'Slack issues the signing secret and the bot token; neither can be rotated by a Lambda (Slack regenerates them in the app settings, docs/chat.md says how), so there is no rotation schedule to attach.';
      Validations.of(secret).acknowledge(
        { id: 'AwsSolutions-SMG4', reason: rotation },
        { id: 'NIST.800.53.R5-SecretsManagerRotationEnabled', reason: rotation },
      );
      this.secret = secret;
    }
    for (const fn of [props.api, props.workflow, props.sweeper]) {
      if (fn === undefined) continue;
      fn.readSecret('Slack', this.secret.secretArn, props.key);
      fn.function.addEnvironment(ENV.slackSecretArn, this.secret.secretArn);
      fn.function.addEnvironment(ENV.slackChannel, props.channel);
    }
    if (props.teamId !== undefined) {
      if (!/^[TE][A-Z0-9]{2,}$/.test(props.teamId)) {
        throw new Error(
          `slack.teamId must be a workspace id such as T0123ABCD or an Enterprise Grid organisation id such as E0123ABCD, got ${JSON.stringify(props.teamId)}`,
        );
      }
      // Only the api function receives clicks.
      props.api.function.addEnvironment(ENV.slackTeamId, props.teamId);
    }
    const rateLimit = props.throttleRateLimit ?? 10;
    const burstLimit = props.throttleBurstLimit ?? 20;
    if (rateLimit <= 0 || burstLimit <= 0) {
      throw new Error(
        `slack throttling limits must be positive, got rate ${rateLimit} and burst ${burstLimit}`,
      );
    }
    this.route = {
      path: SLACK_INTERACTIONS_PATH,
      method: 'POST',
      rateLimit,
      burstLimit,
      reason:
        "Slack's interactivity callback cannot carry SigV4: the api function verifies Slack's HMAC-SHA256 signature over the raw body with the app's signing secret, refuses timestamps more than 5 minutes off and replayed signatures (a conditional put in the requests table), and maps the Slack user to a principal only through policy data.",
    };
  }
}
