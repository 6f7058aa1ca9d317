import { RemovalPolicy, Token, Validations } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { ENV } from '../../functions/handlers/env.ts';
import type { UnauthenticatedRoute } from './gateway-api.ts';
import type { GatewayFunction } from './gateway-function.ts';

export interface ReviewPageProps {
  /**
   * The https URL people open the page at: a custom domain whose base path mapping is the API's
   * stage at the root (the page's links are absolute paths from /review). The redirect URI to
   * register at the identity provider is `<baseUrl>/review/auth/callback`.
   */
  readonly baseUrl: string;
  /**
   * An existing Secrets Manager secret {"issuer", "clientId", "clientSecret"?, "sessionSecret"}.
   * @default - the stack creates an empty one (encrypted with the stack's key) to fill in after deploy
   */
  readonly secretArn?: string;
  /** Which ID token claim policy data's `identities.oidc` is keyed by. @default 'sub' */
  readonly principalClaim?: 'sub' | 'email';
  /** A vote on a step-up request needs a sign-in at most this old, in seconds (30–3600). @default 300 */
  readonly stepUpMaxAgeSeconds?: number;
  /** Requests per second API Gateway passes to the page's methods (each its own limit). @default 20 */
  readonly throttleRateLimit?: number;
  /** @default 40 */
  readonly throttleBurstLimit?: number;
}

export interface ReviewPageConstructProps extends ReviewPageProps {
  readonly key: kms.IKey;
  /** Serves the page. */
  readonly api: GatewayFunction;
  /** Post and update cards, which link to the page. */
  readonly cardSenders: readonly (GatewayFunction | undefined)[];
}

/**
 * The review page on AWS (docs/review-page.md): its OpenID Connect client and cookie key in one
 * secret (read by the api function at init, never in its environment), and the page's methods,
 * which API Gateway passes without IAM authorisation: a browser cannot sign with SigV4, so the
 * api function authenticates people itself (OIDC sign-in, encrypted session cookie, CSRF token).
 */
export class ReviewPage extends Construct {
  readonly secret: secretsmanager.ISecret;
  readonly routes: readonly UnauthenticatedRoute[];

  constructor(scope: Construct, id: string, props: ReviewPageConstructProps) {
    super(scope, id);
    if (!Token.isUnresolved(props.baseUrl)) {
      let url: URL | undefined;
      try {
        url = new URL(props.baseUrl);
      } catch {
        url = undefined;
      }
      if (url?.protocol !== 'https:' || props.baseUrl.endsWith('/') || url.search !== '') {
        throw new Error(
          `reviewPage.baseUrl must be an https URL without a trailing / or query (got "${props.baseUrl}"), e.g. https://approvals.example.gov`,
        );
      }
    }
    const stepUp = props.stepUpMaxAgeSeconds;
    if (stepUp !== undefined && (!Number.isInteger(stepUp) || stepUp < 30 || stepUp > 3600)) {
      throw new Error(`reviewPage.stepUpMaxAgeSeconds must be a whole number from 30 to 3600, got ${stepUp}`);
    }
    if (props.secretArn !== undefined) {
      this.secret = secretsmanager.Secret.fromSecretCompleteArn(this, 'Secret', props.secretArn);
    } else {
      const secret = new secretsmanager.Secret(this, 'Secret', {
        description:
          'Action-Level Approvals: review page OpenID Connect client and session cookie key (docs/review-page.md)',
        encryptionKey: props.key,
        removalPolicy: RemovalPolicy.RETAIN,
        secretObjectValue: {},
      });
      const rotation =
        'The identity provider issues the client secret (rotated in its console, docs/review-page.md says how); the cookie key is rotated by writing a new one, which signs everyone out. Neither has a Lambda rotation to attach.';
      Validations.of(secret).acknowledge(
        { id: 'AwsSolutions-SMG4', reason: rotation },
        { id: 'NIST.800.53.R5-SecretsManagerRotationEnabled', reason: rotation },
      );
      this.secret = secret;
    }
    props.api.readSecret('ReviewPage', this.secret.secretArn, props.key);
    const env = props.api.function;
    env.addEnvironment(ENV.reviewOidcSecretArn, this.secret.secretArn);
    if (props.principalClaim !== undefined)
      env.addEnvironment(ENV.reviewPrincipalClaim, props.principalClaim);
    if (stepUp !== undefined) env.addEnvironment(ENV.reviewStepUpMaxAgeSeconds, String(stepUp));
    for (const fn of [props.api, ...props.cardSenders]) {
      fn?.function.addEnvironment(ENV.reviewBaseUrl, props.baseUrl);
    }
    const rateLimit = props.throttleRateLimit ?? 20;
    const burstLimit = props.throttleBurstLimit ?? 40;
    if (rateLimit <= 0 || burstLimit <= 0) {
      throw new Error(
        `reviewPage throttling limits must be positive, got rate ${rateLimit} and burst ${burstLimit}`,
      );
    }
    const reason =
      'The review page is for people in a browser, which cannot sign with SigV4: the api function signs them in with OpenID Connect (authorization code + PKCE), maps them to principals only through policy data, keeps the session in an encrypted HttpOnly Secure SameSite=Strict cookie, and checks a CSRF token on every form.';
    this.routes = [
      { path: '/review', method: 'GET', rateLimit, burstLimit, reason },
      { path: '/review/{proxy+}', method: 'GET', rateLimit, burstLimit, reason },
      { path: '/review/{proxy+}', method: 'POST', rateLimit, burstLimit, reason },
    ];
  }
}
