/**
 * OpenID Connect sign-in for the review page: authorization code flow with PKCE (S256), state and
 * nonce, through `openid-client` (certified relying party library). The identity provider is any
 * the deployer configures by its issuer URL (Entra ID, Okta, Cognito, …; docs/review-page.md).
 *
 * Who signed in becomes a principal only through policy data (`identities.oidc`), keyed by the
 * `sub` claim, or by `email:<address>` when the deployer chose e-mail and the provider says the
 * address is verified. Nothing else in the ID token grants anything.
 */
import * as client from 'openid-client';
import type { SignInState } from './session.ts';

export interface OidcSettings {
  /** The issuer URL; its `/.well-known/openid-configuration` is read at the first sign-in. */
  readonly issuer: string;
  readonly clientId: string;
  /** Confidential clients (client_secret_basic); without one, a public client with PKCE only. */
  readonly clientSecret?: string;
  /** This page's callback, exactly as registered at the provider: `<base>/review/auth/callback`. */
  readonly redirectUri: string;
  /** Which claim names the person in `identities.oidc`. @default 'sub' */
  readonly principalClaim?: 'sub' | 'email';
  /** @default 'openid email profile' */
  readonly scope?: string;
  /** Plain-http issuer (a provider on 127.0.0.1 in tests and local mode only). @default false */
  readonly allowInsecureIssuer?: boolean;
}

/** Who the provider says signed in, and when. */
export interface OidcIdentity {
  /** The `identities.oidc` key: the `sub`, or `email:<address>` (lower case). */
  readonly key: string;
  /** When they authenticated (epoch seconds); 0 when the provider did not say (`auth_time`). */
  readonly authTime: number;
  /** For messages: the e-mail or the subject. */
  readonly display: string;
}

/** The sign-in is refused: the message says why, for the person and the log. */
export class SignInError extends Error {
  override name = 'SignInError';
}

export class OidcSignIn {
  readonly #settings: OidcSettings;
  #config: Promise<client.Configuration> | undefined;

  constructor(settings: OidcSettings) {
    this.#settings = settings;
  }

  /** The callback registered at the provider. */
  get redirectUri(): string {
    return this.#settings.redirectUri;
  }

  /** The provider's metadata, discovered once; a failed discovery is retried at the next sign-in. */
  #configuration(): Promise<client.Configuration> {
    if (!this.#config) {
      const { issuer, clientId, clientSecret, allowInsecureIssuer } = this.#settings;
      this.#config = client
        .discovery(
          new URL(issuer),
          clientId,
          clientSecret,
          clientSecret === undefined ? client.None() : client.ClientSecretBasic(clientSecret),
          allowInsecureIssuer ? { execute: [client.allowInsecureRequests] } : undefined,
        )
        .catch((error: unknown) => {
          this.#config = undefined;
          throw error;
        });
    }
    return this.#config;
  }

  /** Fresh state, nonce and PKCE verifier for one sign-in. */
  static newState(returnTo: string, stepUp: boolean, csrf: string): SignInState {
    return {
      state: client.randomState(),
      nonce: client.randomNonce(),
      verifier: client.randomPKCECodeVerifier(),
      returnTo,
      stepUp,
      csrf,
    };
  }

  /**
   * Where to send the browser. A step-up sign-in asks the provider to authenticate the person again
   * (`max_age` and `prompt=login`), whatever session it holds.
   */
  async authorizationUrl(state: SignInState, stepUpMaxAgeSeconds: number): Promise<URL> {
    const config = await this.#configuration();
    return client.buildAuthorizationUrl(config, {
      redirect_uri: this.#settings.redirectUri,
      scope: this.#settings.scope ?? 'openid email profile',
      response_type: 'code',
      state: state.state,
      nonce: state.nonce,
      code_challenge: await client.calculatePKCECodeChallenge(state.verifier),
      code_challenge_method: 'S256',
      ...(state.stepUp ? { max_age: String(stepUpMaxAgeSeconds), prompt: 'login' } : {}),
    });
  }

  /**
   * Redeems the code the provider sent back (checking state, nonce, PKCE, the ID token's signature,
   * issuer, audience and expiry, and for a step-up that `auth_time` is within `max_age`).
   */
  async finish(callbackUrl: URL, state: SignInState, stepUpMaxAgeSeconds: number): Promise<OidcIdentity> {
    const config = await this.#configuration();
    let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
    try {
      tokens = await client.authorizationCodeGrant(config, callbackUrl, {
        pkceCodeVerifier: state.verifier,
        expectedState: state.state,
        expectedNonce: state.nonce,
        idTokenExpected: true,
        ...(state.stepUp ? { maxAge: stepUpMaxAgeSeconds } : {}),
      });
    } catch (error) {
      throw new SignInError(`the identity provider's answer was refused: ${(error as Error).message}`, {
        cause: error,
      });
    }
    const claims = tokens.claims();
    if (!claims) throw new SignInError('the identity provider sent no ID token');
    const authTime = typeof claims.auth_time === 'number' ? claims.auth_time : 0;
    if ((this.#settings.principalClaim ?? 'sub') === 'email') {
      const email = typeof claims.email === 'string' ? claims.email.toLowerCase() : undefined;
      if (!email || claims.email_verified !== true) {
        throw new SignInError(
          'the identity provider sent no verified e-mail address (email with email_verified true); ask for the email scope, or bind by sub',
        );
      }
      return { key: `email:${email}`, authTime, display: email };
    }
    return {
      key: claims.sub,
      authTime,
      display: typeof claims.email === 'string' ? `${claims.email} (${claims.sub})` : claims.sub,
    };
  }
}
