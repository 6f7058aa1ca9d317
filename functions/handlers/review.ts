/**
 * The review page on AWS (docs/review-page.md), from the api function's environment: its OpenID
 * Connect client and cookie key from one Secrets Manager secret, read once per cold start.
 * REVIEW_OIDC_SECRET_ARN unset: no review page (its routes answer 404). On AWS there is no demo
 * sign-in, and cookies are always `Secure` (the base URL must be https).
 */
import { OidcSignIn } from '../http/review/oidc.ts';
import { CookieSealer } from '../http/review/session.ts';
import type { ReviewPageSettings } from '../http/review/settings.ts';
import type { Logger } from '../observability/logger.ts';
import { ENV, optionalEnv, optionalSeconds, requireEnv } from './env.ts';

export async function reviewPageFromEnv(logger: Logger): Promise<ReviewPageSettings | undefined> {
  const arn = optionalEnv(ENV.reviewOidcSecretArn);
  if (!arn) return undefined;
  const base = new URL(requireEnv(ENV.reviewBaseUrl, 'the review page base URL (https)'));
  if (base.protocol !== 'https:') {
    throw new Error(
      `${ENV.reviewBaseUrl} must be an https URL (got ${base.origin}); the review page's cookies are Secure`,
    );
  }
  const claim = optionalEnv(ENV.reviewPrincipalClaim) ?? 'sub';
  if (claim !== 'sub' && claim !== 'email') {
    throw new Error(`${ENV.reviewPrincipalClaim} must be sub or email, got "${claim}"`);
  }
  const { readJsonSecret } = await import('../adapters/aws/secrets.ts');
  const secret = await readJsonSecret(arn);
  const { issuer, clientId, clientSecret, sessionSecret } = secret;
  if (!issuer || !clientId || !sessionSecret || sessionSecret.length < 32) {
    // A fresh deploy: the secret is not filled in yet. The page stays off; the API works.
    logger.error('the review page is off: its secret is not filled in (docs/review-page.md)', {
      secret: arn,
      expected: [
        'issuer',
        'clientId',
        'clientSecret (confidential clients)',
        'sessionSecret (32+ characters)',
      ],
      has: Object.keys(secret),
    });
    return undefined;
  }
  const issuerUrl = new URL(issuer);
  if (issuerUrl.protocol !== 'https:')
    throw new Error(`the review page's issuer must be https (got ${issuerUrl.origin})`);
  const stepUp = optionalSeconds(ENV.reviewStepUpMaxAgeSeconds, 30, 3600);
  return {
    sealer: new CookieSealer(sessionSecret),
    secureCookies: true,
    oidc: new OidcSignIn({
      issuer,
      clientId,
      ...(clientSecret ? { clientSecret } : {}),
      redirectUri: `${base.origin}${base.pathname.replace(/\/+$/, '')}/review/auth/callback`,
      principalClaim: claim,
    }),
    issuerOrigin: issuerUrl.origin,
    ...(stepUp !== undefined ? { stepUpMaxAgeSeconds: stepUp } : {}),
  };
}
