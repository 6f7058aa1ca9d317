/** Who is calling. The body can never say; only the transport's authentication can. */
import { hash, timingSafeEqual } from 'node:crypto';
import type { Context } from 'hono';
import { type IamMappingConfig, iamPrincipalMapper } from './iam-principal.ts';

/** Returns the caller's principal id, or undefined when the caller is not authenticated. */
export type Authenticator = (c: Context) => string | undefined | Promise<string | undefined>;

export interface BearerPrincipal {
  readonly token: string;
  readonly id: string;
}

/** SHA-256 by one-shot `crypto.hash` (no Hash object per call: it is computed on every call). */
function digest(token: string): Buffer {
  return hash('sha256', token, 'buffer');
}

/**
 * Local mode: static bearer tokens from the config file. Tokens are compared by their SHA-256 in
 * constant time, so neither their content nor their length leaks through timing.
 */
export function bearerTokenAuthenticator(principals: readonly BearerPrincipal[]): Authenticator {
  const lookup = bearerTokenLookup(principals);
  return (c) => {
    const header = c.req.header('authorization');
    // The scheme name is case-insensitive (RFC 9110 §11.1); the token is compared exactly.
    const match = header ? /^Bearer ([\x21-\x7e]{1,512})$/i.exec(header) : null;
    return match?.[1] ? lookup(match[1]) : undefined;
  };
}

/** The principal of a local token, or undefined (the review page's demo sign-in uses it too). */
export function bearerTokenLookup(
  principals: readonly BearerPrincipal[],
): (token: string) => string | undefined {
  const known = principals.map((p) => ({ digest: digest(p.token), id: p.id }));
  return (token) => {
    if (!/^[\x21-\x7e]{1,512}$/.test(token)) return undefined;
    const presented = digest(token);
    let found: string | undefined;
    for (const candidate of known) {
      if (timingSafeEqual(candidate.digest, presented)) found = candidate.id;
    }
    return found;
  };
}

/** The parts of an API Gateway (REST, IAM auth) event this gateway reads. */
interface ApiGatewayIdentityEvent {
  requestContext?: { accountId?: string | null; identity?: { userArn?: string | null } };
}

/**
 * AWS: the caller's IAM identity, verified by API Gateway (SigV4, `AWS_IAM` authorization), mapped
 * to a principal by functions/http/iam-principal.ts (Identity Center users are people, declared
 * agent roles are agents, anything else stays an `iam:` principal). A refused caller is
 * unauthenticated; `onRefused` hears why, for the log.
 */
export function iamAuthenticator(
  config: IamMappingConfig = {},
  onRefused?: (reason: string, arn: string) => void,
): Authenticator {
  const map = iamPrincipalMapper(config);
  return (c) => {
    const env = c.env as { event?: ApiGatewayIdentityEvent } | undefined;
    const context = env?.event?.requestContext;
    const arn = context?.identity?.userArn;
    const apiAccount = context?.accountId;
    if (!arn || !apiAccount) return undefined;
    const mapped = map(arn, apiAccount);
    if (mapped.ok) return mapped.principal;
    onRefused?.(mapped.reason, arn);
    return undefined;
  };
}
