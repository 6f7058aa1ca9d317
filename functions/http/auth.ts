/** Who is calling. The body can never say; only the transport's authentication can. */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context } from 'hono';

/** Returns the caller's principal id, or undefined when the caller is not authenticated. */
export type Authenticator = (c: Context) => string | undefined | Promise<string | undefined>;

export interface BearerPrincipal {
  readonly token: string;
  readonly id: string;
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/**
 * Local mode: static bearer tokens from the config file. Tokens are compared by their SHA-256 in
 * constant time, so neither their content nor their length leaks through timing.
 */
export function bearerTokenAuthenticator(principals: readonly BearerPrincipal[]): Authenticator {
  const known = principals.map((p) => ({ digest: digest(p.token), id: p.id }));
  return (c) => {
    const header = c.req.header('authorization');
    // The scheme name is case-insensitive (RFC 9110 §11.1); the token is compared exactly.
    const match = header ? /^Bearer ([\x21-\x7e]{1,512})$/i.exec(header) : null;
    if (!match?.[1]) return undefined;
    const presented = digest(match[1]);
    let found: string | undefined;
    for (const candidate of known) {
      if (timingSafeEqual(candidate.digest, presented)) found = candidate.id;
    }
    return found;
  };
}

/** The parts of an API Gateway (REST, IAM auth) event this gateway reads. */
interface ApiGatewayIdentityEvent {
  requestContext?: { identity?: { userArn?: string | null; caller?: string | null } };
}

/**
 * AWS: the caller's IAM identity, verified by API Gateway (SigV4, `AWS_IAM` authorization). An
 * assumed-role session is named by its role (`iam:arn:aws:iam::123456789012:role/agent`), so policy
 * data can grant or exclude roles regardless of session names.
 */
export function iamAuthenticator(): Authenticator {
  return (c) => {
    const env = c.env as { event?: ApiGatewayIdentityEvent } | undefined;
    const arn = env?.event?.requestContext?.identity?.userArn;
    return arn ? iamPrincipal(arn) : undefined;
  };
}

export function iamPrincipal(arn: string): string | undefined {
  const assumed = /^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role\/([\w+=,.@-]{1,64})\/[\w+=,.@-]{2,64}$/.exec(
    arn,
  );
  if (assumed) return `iam:arn:${assumed[1]}:iam::${assumed[2]}:role/${assumed[3]}`;
  if (/^arn:aws[a-z-]*:iam::\d{12}:(user|role)\/[\w+=,.@/-]{1,512}$/.test(arn)) return `iam:${arn}`;
  return undefined;
}
