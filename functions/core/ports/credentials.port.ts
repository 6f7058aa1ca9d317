import type { ActionRequest } from '../model.ts';
import type { SessionPolicy } from '../session-policy.ts';

/** Short-lived credentials scoped to one approved action. Delivered once, never stored. */
export interface IssuedCredentials {
  readonly type: 'aws_sts';
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
  /** When STS expires the session (≥ 15 min); the session policy ends use at `usableUntil`. */
  readonly expiration: string;
  readonly usableUntil: string;
  readonly region?: string;
  /** The STS role session name (CloudTrail shows it); recorded in the audit. */
  readonly sessionName: string;
}

export interface CredentialBroker {
  /**
   * Issues credentials for exactly the request's approved grant, scoped by `policy` (built by the
   * core). Throws `CredentialsUnavailableError` (outage: retry) or `GrantRefusedError` (the role is
   * not allowed, or STS found the policy too large).
   */
  issue(request: ActionRequest, policy: SessionPolicy, now: Date): Promise<IssuedCredentials>;
}
