/** What the review page needs from its composition root (local gateway or Lambda). */
import type { OidcSignIn } from './oidc.ts';
import type { CookieSealer } from './session.ts';

/** What the review page needs; absent, its routes answer 404 (not configured). */
export interface ReviewPageSettings {
  readonly sealer: CookieSealer;
  /**
   * `Secure` cookies with the `__Host-` prefix. Only the local gateway on a loopback address over
   * plain http turns this off (browsers would drop a Secure cookie there otherwise).
   */
  readonly secureCookies: boolean;
  /** OpenID Connect sign-in; without it, `demoToken` must be set (local demo mode). */
  readonly oidc?: OidcSignIn;
  /** Local demo sign-in: the principal of a demo bearer token, or undefined. */
  readonly demoToken?: (token: string) => string | undefined;
  /** Origin of the identity provider's authorization endpoint, allowed as a form target (step-up redirects). */
  readonly issuerOrigin?: string;
  /** How long a session lasts. @default 1800 (30 minutes) */
  readonly sessionTtlSeconds?: number;
  /** Step-up window: a vote on a step-up request needs a sign-in at most this old. @default 300 */
  readonly stepUpMaxAgeSeconds?: number;
  readonly now?: () => Date;
}
