/**
 * Authenticates the Bot Framework channel's calls to the bot's messaging endpoint: the JWT in
 * `Authorization: Bearer …` must be signed (RS256) by a key of the cloud's OpenID metadata document,
 * endorsed for the activity's channel, issued by the cloud's Bot Framework issuer, for this bot's app
 * id, not expired (a small clock skew allowed), and carry the activity's own `serviceUrl`.
 *
 * jose does the signature and claim checks and keeps the key set (refetched when a token names a key
 * it does not know, at most every 30 s, so unknown key ids cannot make it hammer the endpoint).
 */
import { createRemoteJWKSet, customFetch, errors, type JWTPayload, jwtVerify } from 'jose';
import type { TeamsEndpoints } from './clouds.ts';

export type Fetch = (url: string, init?: RequestInit) => Promise<Response>;

/** Why a call was refused; the route answers 401 with this message. */
export class BotAuthenticationError extends Error {
  override name = 'BotAuthenticationError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export interface BotFrameworkClaims extends JWTPayload {
  readonly serviceurl?: string;
}

export interface VerifierOptions {
  readonly appId: string;
  readonly endpoints: Pick<TeamsEndpoints, 'openIdMetadataUrl' | 'issuer'>;
  /** How HTTP is done (tests route the cloud's URLs to local stand-ins). @default globalThis.fetch */
  readonly fetch?: Fetch;
  /** Clock skew allowed on `exp` and `nbf`, in seconds. @default 300 (the Bot Framework's) */
  readonly clockToleranceSeconds?: number;
  /** How long the metadata document (and so the key set's URL) is kept. @default 24 h */
  readonly metadataMaxAgeMs?: number;
  readonly now?: () => Date;
}

interface KeySet {
  readonly jwksUri: string;
  readonly set: ReturnType<typeof createRemoteJWKSet>;
  at: number;
}

const SIGNING_ALGORITHMS = ['RS256', 'RS384', 'RS512'];
const TIMEOUT_MS = 5_000;

export class BotFrameworkVerifier {
  readonly #options: VerifierOptions;
  readonly #fetch: Fetch;
  #keys?: KeySet;

  constructor(options: VerifierOptions) {
    this.#options = options;
    this.#fetch = options.fetch ?? ((url, init) => fetch(url, init));
  }

  /**
   * The token's claims when `authorization` authenticates a call carrying `activity`; throws
   * BotAuthenticationError otherwise.
   */
  async verify(
    authorization: string | undefined,
    activity: { readonly serviceUrl?: unknown; readonly channelId?: unknown },
  ): Promise<BotFrameworkClaims> {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization?.trim() ?? '');
    if (!match?.[1]) {
      throw new BotAuthenticationError(
        'send the Bot Framework token as "Authorization: Bearer <jwt>"; this endpoint is called by the Teams channel only',
      );
    }
    const keys = await this.#keySet();
    const { appId, endpoints } = this.#options;
    let payload: BotFrameworkClaims;
    let kid: string | undefined;
    try {
      const verified = await jwtVerify<BotFrameworkClaims>(match[1], keys.set, {
        algorithms: SIGNING_ALGORITHMS,
        issuer: endpoints.issuer,
        audience: appId,
        requiredClaims: ['exp'],
        clockTolerance: this.#options.clockToleranceSeconds ?? 300,
        ...(this.#options.now ? { currentDate: this.#options.now() } : {}),
      });
      payload = verified.payload;
      kid = verified.protectedHeader.kid;
    } catch (error) {
      // The key set could not be fetched: not the caller's fault, and the channel retries.
      if (
        error instanceof errors.JWKSTimeout ||
        !(error instanceof errors.JOSEError) ||
        error.code === 'ERR_JOSE_GENERIC'
      ) {
        throw new Error(`cannot read the Bot Framework signing keys: ${describe(error)}`, { cause: error });
      }
      throw new BotAuthenticationError(`the Bot Framework token is not valid: ${describe(error)}`, {
        cause: error,
      });
    }
    // The channel's keys say which channels they sign for; a key for another channel is refused.
    const jwk = keys.set.jwks()?.keys.find((key) => key.kid === kid) as
      | { endorsements?: unknown }
      | undefined;
    const channel = typeof activity.channelId === 'string' ? activity.channelId : undefined;
    if (Array.isArray(jwk?.endorsements) && (!channel || !jwk.endorsements.includes(channel))) {
      throw new BotAuthenticationError(
        `the token's signing key is not endorsed for channel ${JSON.stringify(channel ?? null)}`,
      );
    }
    const serviceUrl = typeof activity.serviceUrl === 'string' ? activity.serviceUrl : undefined;
    if (!serviceUrl || payload.serviceurl !== serviceUrl) {
      throw new BotAuthenticationError(
        `the token's serviceurl claim (${JSON.stringify(payload.serviceurl ?? null)}) is not the activity's serviceUrl (${JSON.stringify(serviceUrl ?? null)})`,
      );
    }
    return payload;
  }

  /** The key set named by the cloud's OpenID metadata, fetched once a day. */
  async #keySet(): Promise<KeySet> {
    const maxAge = this.#options.metadataMaxAgeMs ?? 24 * 60 * 60 * 1000;
    if (this.#keys && Date.now() - this.#keys.at < maxAge) return this.#keys;
    const url = this.#options.endpoints.openIdMetadataUrl;
    let jwksUri: unknown;
    try {
      const response = await this.#fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS), redirect: 'error' });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      jwksUri = ((await response.json()) as { jwks_uri?: unknown }).jwks_uri;
    } catch (error) {
      if (this.#keys) return this.#keys; // a stale key set beats refusing every click while it is down
      throw new Error(`cannot read the Bot Framework OpenID metadata at ${url}: ${describe(error)}`, {
        cause: error,
      });
    }
    if (typeof jwksUri !== 'string' || !/^https?:\/\//.test(jwksUri)) {
      throw new Error(`the Bot Framework OpenID metadata at ${url} names no jwks_uri`);
    }
    if (this.#keys?.jwksUri === jwksUri) {
      this.#keys.at = Date.now();
      return this.#keys;
    }
    const fetchKeys = this.#fetch;
    this.#keys = {
      jwksUri,
      at: Date.now(),
      set: createRemoteJWKSet(new URL(jwksUri), {
        timeoutDuration: TIMEOUT_MS,
        [customFetch]: (resource, init) => fetchKeys(resource, init),
      }),
    };
    return this.#keys;
  }
}

function describe(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'it has expired';
  if (error instanceof errors.JWKSNoMatchingKey)
    return 'it is signed with a key the Bot Framework does not list';
  if (error instanceof errors.JWTClaimValidationFailed) return `${error.claim} claim: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}
