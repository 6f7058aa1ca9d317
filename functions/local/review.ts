/** The local gateway's review page settings (docs/review-page.md), from the `review` config block. */
import { bearerTokenLookup } from '../http/auth.ts';
import { OidcSignIn } from '../http/review/oidc.ts';
import { CookieSealer } from '../http/review/session.ts';
import type { ReviewPageSettings } from '../http/review/settings.ts';
import { ConfigError, type LocalConfig } from './config.ts';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** `sessionSecret`: the cookie key when the config sets none (@default a random one per process). */
export function localReviewPage(config: LocalConfig, sessionSecret?: string): ReviewPageSettings {
  const review = config.review;
  if (review?.oidc && !review.baseUrl) {
    throw new ConfigError(
      'review.oidc needs review.baseUrl: the URL people open the gateway at (the redirect URI registered at the identity provider is <baseUrl>/review/auth/callback)',
    );
  }
  const base = new URL(review?.baseUrl ?? `http://${config.host}:${config.port}`);
  const secureCookies = base.protocol === 'https:';
  // Plain http is tolerated on a loopback address only: nothing else can see the cookie there.
  if (!secureCookies && !LOOPBACK.has(base.hostname)) {
    throw new ConfigError(
      `review.baseUrl ${base.origin} is plain http on ${base.hostname}: the review page's cookies need https anywhere but 127.0.0.1 (put the gateway behind a TLS proxy and set review.baseUrl to its https URL)`,
    );
  }
  const oidc = review?.oidc;
  const issuer = oidc ? new URL(oidc.issuer) : undefined;
  if (issuer && issuer.protocol !== 'https:' && !LOOPBACK.has(issuer.hostname)) {
    throw new ConfigError(`review.oidc.issuer ${oidc?.issuer} must be https (plain http only on 127.0.0.1)`);
  }
  return {
    sealer: new CookieSealer(review?.sessionSecret ?? sessionSecret ?? CookieSealer.randomSecret()),
    secureCookies,
    sessionTtlSeconds: review?.sessionTtlSeconds ?? 1800,
    stepUpMaxAgeSeconds: review?.stepUpMaxAgeSeconds ?? 300,
    ...(oidc && issuer
      ? {
          oidc: new OidcSignIn({
            issuer: oidc.issuer,
            clientId: oidc.clientId,
            ...(oidc.clientSecret !== undefined ? { clientSecret: oidc.clientSecret } : {}),
            redirectUri: `${base.origin}${base.pathname.replace(/\/$/, '')}/review/auth/callback`,
            principalClaim: oidc.principalClaim,
            scope: oidc.scope,
            allowInsecureIssuer: issuer.protocol === 'http:',
          }),
          issuerOrigin: issuer.origin,
        }
      : { demoToken: bearerTokenLookup(config.principals) }),
  };
}
