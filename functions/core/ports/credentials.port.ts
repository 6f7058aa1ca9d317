import type { ActionRequest } from '../model.ts';

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
}

export interface CredentialBroker {
  /** Issues credentials for exactly the request's approved grant. Throws `CredentialsUnavailableError`. */
  issue(request: ActionRequest, now: Date): Promise<IssuedCredentials>;
}
