/**
 * The session policy of an `aws_sts` grant: one Allow statement naming exactly the grant's actions
 * on exactly its resources, usable until issue + window. STS intersects it with the role's own
 * policies, so the session can never do more than this document says, whatever the role allows.
 *
 * Refused before anything reaches STS (each with a stable code):
 * - a wildcard (`*`, `?`) in an action or resource that the grant does not list in `wildcards`,
 *   and IAM policy variables (`${…}`), which expand at evaluation time;
 * - an action or resource ARN of another service than the grant's (the service of its first action);
 * - a document over STS's limit for session policies.
 */
import { sha256 } from './canonical.ts';
import { GrantRefusedError } from './errors.ts';
import type { GrantSpec } from './model.ts';

/**
 * STS: "The plaintext that you use for both inline and managed session policies can't exceed 2,048
 * characters" (AssumeRole API reference, `Policy`). The document is emitted minified, so its length
 * is the plaintext length. STS additionally compresses it into a packed binary form with its own,
 * unpublished limit (`PackedPolicyTooLarge`); the adapter reports that as the same refusal.
 */
export const SESSION_POLICY_MAX_CHARS = 2048;

/** STS's shortest session; grants with a longer window get that window. */
export const MIN_SESSION_SECONDS = 900;

const ACTION = /^([a-z0-9-]+):([A-Za-z0-9*?]+)$/;
const WILDCARD = /[*?]/;
/**
 * The services whose resources an action's service acts on, where they differ from its own:
 * `sts:AssumeRole` names an IAM role (`arn:…:iam::…:role/…`).
 */
const RESOURCE_SERVICES: Readonly<Record<string, readonly string[]>> = { sts: ['sts', 'iam'] };

/** The resource services a grant whose actions are of `service` may name. */
export function resourceServicesOf(service: string): readonly string[] {
  return RESOURCE_SERVICES[service] ?? [service];
}

const ARN = /^arn:(aws|aws-us-gov|aws-cn|aws-iso|aws-iso-b|aws-iso-e|aws-iso-f|aws-eusc):([a-z0-9-]+):/;

export interface SessionPolicyStatement {
  readonly Sid: 'ApprovedAction';
  readonly Effect: 'Allow';
  readonly Action: readonly string[];
  readonly Resource: readonly string[];
  readonly Condition: { readonly DateLessThan: { readonly 'aws:CurrentTime': string } };
}

export interface SessionPolicyDocument {
  readonly Version: '2012-10-17';
  readonly Statement: readonly [SessionPolicyStatement];
}

export interface SessionPolicy {
  readonly document: SessionPolicyDocument;
  /** The minified JSON sent to STS as `Policy`. */
  readonly json: string;
  /** `sha256:<hex>` of `json`: what the audit records instead of the document's use. */
  readonly hash: string;
  /** The service every action and resource belongs to (e.g. `s3`). */
  readonly service: string;
  /** The end of the window: the session policy denies every call from this instant on. */
  readonly usableUntil: Date;
  /** What to ask STS for: at least its minimum, at least the window. */
  readonly durationSeconds: number;
}

/** The session policy for `grant`, issued at `issuedAt`. Throws `GrantRefusedError`. */
export function buildSessionPolicy(grant: GrantSpec, issuedAt: Date): SessionPolicy {
  const { actions, resources, window_seconds: window } = grant;
  if (grant.type !== 'aws_sts' || !grant.role || !actions?.length || !resources?.length || !window) {
    throw new GrantRefusedError(
      'grant_incomplete',
      'an aws_sts grant needs role, actions, resources and window_seconds; the policy returned a grant without them — fix the policy',
    );
  }
  const stated = new Set(grant.wildcards ?? []);
  let service: string | undefined;
  for (const action of actions) {
    const match = ACTION.exec(action);
    if (!match) {
      throw new GrantRefusedError(
        'grant_incomplete',
        `grant action ${JSON.stringify(action)} is not an IAM action (service:Action); fix the policy`,
      );
    }
    const prefix = match[1] as string;
    service ??= prefix;
    if (prefix !== service) {
      throw new GrantRefusedError(
        'grant_foreign_service',
        `grant action ${JSON.stringify(action)} is of service ${prefix}, but the grant is for ${service} (its first action); one grant scopes one service — split the action or fix the policy`,
        { details: { service, action } },
      );
    }
    refuseUnstatedWildcard('action', action, stated);
  }
  const grantService = service as string;
  for (const resource of resources) {
    if (resource.includes('${')) {
      throw new GrantRefusedError(
        'grant_wildcard_not_stated',
        `grant resource ${JSON.stringify(resource)} contains an IAM policy variable, which widens at evaluation time; name the resource literally`,
        { details: { resource } },
      );
    }
    if (resource !== '*') {
      const arn = ARN.exec(resource);
      if (!arn) {
        throw new GrantRefusedError(
          'grant_incomplete',
          `grant resource ${JSON.stringify(resource)} is not an ARN (arn:partition:service:…); fix the policy`,
          { details: { resource } },
        );
      }
      if (!resourceServicesOf(grantService).includes(arn[2] ?? '')) {
        throw new GrantRefusedError(
          'grant_foreign_service',
          `grant resource ${JSON.stringify(resource)} is of service ${arn[2]}, but the grant's actions are of ${grantService}; fix the policy`,
          { details: { service: grantService, resource } },
        );
      }
    }
    refuseUnstatedWildcard('resource', resource, stated);
  }
  const usableUntil = new Date(issuedAt.getTime() + window * 1000);
  const document: SessionPolicyDocument = {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'ApprovedAction',
        Effect: 'Allow',
        Action: [...new Set(actions)].sort(),
        Resource: [...new Set(resources)].sort(),
        // Seconds precision: IAM compares ISO 8601 instants; dropping the milliseconds only shortens.
        Condition: { DateLessThan: { 'aws:CurrentTime': isoSeconds(usableUntil) } },
      },
    ],
  };
  const json = JSON.stringify(document);
  if (json.length > SESSION_POLICY_MAX_CHARS) {
    throw new GrantRefusedError(
      'grant_policy_too_large',
      `the session policy for this grant is ${json.length} characters, over STS's limit of ${SESSION_POLICY_MAX_CHARS}; grant fewer actions or resources per request`,
      { details: { length: json.length, limit: SESSION_POLICY_MAX_CHARS } },
    );
  }
  return {
    document,
    json,
    hash: sha256(json),
    service: grantService,
    usableUntil: new Date(Date.parse(isoSeconds(usableUntil))),
    durationSeconds: Math.max(MIN_SESSION_SECONDS, window),
  };
}

function refuseUnstatedWildcard(
  what: 'action' | 'resource',
  value: string,
  stated: ReadonlySet<string>,
): void {
  if (WILDCARD.test(value) && !stated.has(value)) {
    throw new GrantRefusedError(
      'grant_wildcard_not_stated',
      `grant ${what} ${JSON.stringify(value)} contains a wildcard the policy did not state in the grant's wildcards; list it there if it is meant, or name the ${what} exactly`,
      { details: { [what]: value } },
    );
  }
}

/** RFC 3339 in UTC, truncated to whole seconds. */
function isoSeconds(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}
