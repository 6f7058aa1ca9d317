/**
 * Review page sessions and sign-in state, kept in cookies that the browser cannot read or change:
 * each value is a JWT encrypted with AES-256-GCM (`dir`), so it is both secret and authenticated
 * (a changed byte fails to decrypt), and carries its own expiry. Nothing is stored server-side.
 *
 * CSRF: every session holds a random token; every form carries it in a hidden field, and a post is
 * accepted only when the field equals the session's token (double submit, bound to the session).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { EncryptJWT, jwtDecrypt } from 'jose';

/** A signed-in reviewer. */
export interface ReviewSession {
  /** The canonical principal the sign-in mapped to through policy data. */
  readonly principal: string;
  /** When the person last authenticated at the identity provider (epoch seconds; `auth_time`). */
  readonly authTime: number;
  /** The session's CSRF token, echoed by every form. */
  readonly csrf: string;
  /** How they signed in: `oidc` or `demo` (local demo tokens). */
  readonly method: 'oidc' | 'demo';
}

/** What the sign-in round trip must get back (OpenID Connect state, nonce and PKCE verifier). */
export interface SignInState {
  readonly state: string;
  readonly nonce: string;
  readonly verifier: string;
  /** A path on this page to return to after sign-in. */
  readonly returnTo: string;
  /** Whether this sign-in asked for a fresh authentication (step-up, `max_age`). */
  readonly stepUp: boolean;
  /** CSRF token of the demo sign-in form (no session exists yet). */
  readonly csrf: string;
}

const ALG = 'dir';
const ENC = 'A256GCM';

/** Seals and opens the review page's cookies with one 256-bit key. */
export class CookieSealer {
  readonly #key: Uint8Array;

  /**
   * @param secret at least 32 characters; the key is its SHA-256, so any length works the same way.
   */
  constructor(secret: string) {
    if (secret.length < 32) {
      throw new Error(
        `the review page's session secret must be at least 32 characters (got ${secret.length}); generate one with: openssl rand -hex 32`,
      );
    }
    this.#key = new Uint8Array(createHash('sha256').update(`ala-review-cookie\0${secret}`).digest());
  }

  /** A fresh random secret, for a gateway configured without one (sessions end with the process). */
  static randomSecret(): string {
    return randomBytes(32).toString('base64url');
  }

  async seal(kind: 'session' | 'signin', payload: object, ttlSeconds: number, now: Date): Promise<string> {
    const iat = Math.floor(now.getTime() / 1000);
    return new EncryptJWT({ ...payload, kind })
      .setProtectedHeader({ alg: ALG, enc: ENC })
      .setIssuedAt(iat)
      .setExpirationTime(iat + ttlSeconds)
      .encrypt(this.#key);
  }

  /** The payload, or undefined when the value is missing, forged, of another kind or expired. */
  async open(
    kind: 'session' | 'signin',
    value: string | undefined,
    now: Date,
  ): Promise<Record<string, unknown> | undefined> {
    if (!value || value.length > 8192) return undefined;
    try {
      const { payload } = await jwtDecrypt(value, this.#key, {
        keyManagementAlgorithms: [ALG],
        contentEncryptionAlgorithms: [ENC],
        currentDate: now,
      });
      return payload.kind === kind ? payload : undefined;
    } catch {
      return undefined;
    }
  }

  async sealSession(session: ReviewSession, ttlSeconds: number, now: Date): Promise<string> {
    return this.seal('session', { ...session }, ttlSeconds, now);
  }

  async openSession(value: string | undefined, now: Date): Promise<ReviewSession | undefined> {
    const p = await this.open('session', value, now);
    if (
      !p ||
      typeof p.principal !== 'string' ||
      typeof p.authTime !== 'number' ||
      typeof p.csrf !== 'string' ||
      (p.method !== 'oidc' && p.method !== 'demo')
    ) {
      return undefined;
    }
    return { principal: p.principal, authTime: p.authTime, csrf: p.csrf, method: p.method };
  }

  async sealSignIn(state: SignInState, ttlSeconds: number, now: Date): Promise<string> {
    return this.seal('signin', { ...state }, ttlSeconds, now);
  }

  async openSignIn(value: string | undefined, now: Date): Promise<SignInState | undefined> {
    const p = await this.open('signin', value, now);
    if (
      !p ||
      typeof p.state !== 'string' ||
      typeof p.nonce !== 'string' ||
      typeof p.verifier !== 'string' ||
      typeof p.returnTo !== 'string' ||
      typeof p.stepUp !== 'boolean' ||
      typeof p.csrf !== 'string'
    ) {
      return undefined;
    }
    return {
      state: p.state,
      nonce: p.nonce,
      verifier: p.verifier,
      returnTo: safeReturnPath(p.returnTo),
      stepUp: p.stepUp,
      csrf: p.csrf,
    };
  }
}

/** A random CSRF token. */
export function newCsrfToken(): string {
  return randomBytes(24).toString('base64url');
}

/** Whether a form's CSRF field equals the expected token (constant time; absent is never equal). */
export function csrfMatches(expected: string, presented: unknown): boolean {
  if (typeof presented !== 'string' || presented.length === 0) return false;
  const a = createHash('sha256').update(expected).digest();
  const b = createHash('sha256').update(presented).digest();
  return timingSafeEqual(a, b);
}

/** Where the review page may send someone back to: a path under /review, nothing else. */
export function safeReturnPath(path: string | undefined): string {
  if (
    !path ||
    !/^\/review(?:\/[A-Za-z0-9._~/-]*)?(?:\?[A-Za-z0-9._~=&%-]*)?$/.test(path) ||
    path.includes('//')
  ) {
    return '/review';
  }
  return path;
}

export interface CookieOptions {
  /** `Secure` and the `__Host-` prefix; off only for plain http on a loopback address (local mode). */
  readonly secure: boolean;
}

/** Cookie names: `__Host-` pins them to this origin, path `/`, and `Secure` (browsers enforce it). */
export function cookieNames(options: CookieOptions): { session: string; signIn: string } {
  const prefix = options.secure ? '__Host-' : '';
  return { session: `${prefix}ala_review`, signIn: `${prefix}ala_review_signin` };
}

/**
 * A `Set-Cookie` value. The session cookie is `SameSite=Strict`; the sign-in cookie must come back
 * on the identity provider's redirect (a cross-site top-level navigation), so it is `Lax`, and it
 * holds only the state of one sign-in, good for ten minutes.
 */
export function setCookie(
  name: string,
  value: string,
  options: CookieOptions & { maxAgeSeconds: number; sameSite: 'Strict' | 'Lax' },
): string {
  return [
    `${name}=${value}`,
    'Path=/',
    `Max-Age=${options.maxAgeSeconds}`,
    'HttpOnly',
    ...(options.secure ? ['Secure'] : []),
    `SameSite=${options.sameSite}`,
  ].join('; ');
}

/** The value of one cookie from a `Cookie` header. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
