/**
 * The STS credential broker: AssumeRole on the grant's role with the core's session policy, so the
 * credentials can do exactly the approved action until the window ends. The credentials pass
 * through memory to the caller once; nothing here logs, stores or audits them.
 *
 * The STS package is loaded on the first grant redeemed, not at import: the api function's
 * auto-allowed path never calls STS, and loading the package is a measurable part of its cold
 * start (docs/decisions/0015-performance.md). Only an `import()` of the package itself stays lazy
 * in the bundle.
 */
import type { AssumeRoleCommandOutput, STSClient, STSClientConfig } from '@aws-sdk/client-sts';
import { CredentialsUnavailableError, GrantRefusedError } from '../../core/errors.ts';
import type { ActionRequest } from '../../core/model.ts';
import type { CredentialBroker, IssuedCredentials } from '../../core/ports/credentials.port.ts';
import type { SessionPolicy } from '../../core/session-policy.ts';

export interface StsBrokerConfig {
  /** `aws`, `aws-us-gov`, …: the partition role names are resolved in. */
  readonly partition: string;
  /** The account role names are resolved in (12 digits). */
  readonly accountId: string;
  /** The role ARNs the deployer allows grants to name; any other role is refused before STS. */
  readonly allowedRoleArns: readonly string[];
  /** STS region (e.g. us-gov-west-1); the SDK's chain decides when absent. */
  readonly region?: string;
  /** An STS endpoint URL (a VPC endpoint, moto); the SDK's regional endpoint when absent. */
  readonly endpoint?: string;
  /** Use the FIPS endpoint of the region. */
  readonly useFipsEndpoint?: boolean;
}

const ROLE_NAME = /^[\w+=,.@/-]{1,512}$/;
const ACCOUNT = /^\d{12}$/;

/** The ARN a grant's `role` names: an ARN as is, a name (optionally with a path) in the configured account. */
export function roleArn(role: string, config: Pick<StsBrokerConfig, 'partition' | 'accountId'>): string {
  if (role.startsWith('arn:')) return role;
  if (!ROLE_NAME.test(role)) {
    throw new GrantRefusedError(
      'grant_role_not_allowed',
      `grant role ${JSON.stringify(role)} is neither an ARN nor an IAM role name; fix the policy's grant`,
    );
  }
  return `arn:${config.partition}:iam::${config.accountId}:role/${role}`;
}

/**
 * STS SourceIdentity: 2–64 characters of `[\w+=,.@-]`, not starting with `aws:`. Other characters
 * (the `:` of `agent:…`) become `.`; the full principal travels in the `principal` tag.
 */
export function sourceIdentityOf(principal: string): string {
  const cleaned = principal.replace(/[^\w+=,.@-]/g, '.').slice(0, 64);
  return cleaned.length >= 2 ? cleaned : `${cleaned}..`.slice(0, 2);
}

/** STS RoleSessionName: 2–64 characters of `[\w+=,.@-]`; the request id fits as is. */
export function sessionNameOf(requestId: string): string {
  return `ala-${requestId}`.replace(/[^\w+=,.@-]/g, '-').slice(0, 64);
}

/** Session tag values: up to 256 characters of letters, digits, spaces and `_.:/=+-@`. */
function tagValue(value: string): string {
  return value.replace(/[^\p{L}\p{Z}\p{N}_.:/=+\-@]/gu, '_').slice(0, 256);
}

export class StsCredentialBroker implements CredentialBroker {
  readonly #config: StsBrokerConfig;
  readonly #client: () => Promise<STSClient>;
  #made: STSClient | undefined;
  readonly #allowed: ReadonlySet<string>;

  constructor(config: StsBrokerConfig, client?: STSClient) {
    if (!ACCOUNT.test(config.accountId)) {
      throw new TypeError(
        `the STS broker's accountId must be 12 digits (got ${JSON.stringify(config.accountId)})`,
      );
    }
    if (config.allowedRoleArns.length === 0) {
      throw new TypeError(
        'the STS broker needs at least one allowed role ARN; list the roles grants may name',
      );
    }
    this.#config = config;
    this.#allowed = new Set(config.allowedRoleArns);
    let made: Promise<STSClient> | undefined;
    this.#client = () => {
      made ??= (client ? Promise.resolve(client) : createStsClient(config)).then((c) => {
        this.#made = c;
        return c;
      });
      // A failed load is not kept: the next redemption tries again.
      made.catch(() => {
        made = undefined;
      });
      return made;
    };
  }

  async issue(request: ActionRequest, policy: SessionPolicy, _now: Date): Promise<IssuedCredentials> {
    const role = request.grant?.role;
    if (!role) throw new GrantRefusedError('grant_incomplete', 'the grant names no role; fix the policy');
    const arn = roleArn(role, this.#config);
    if (!this.#allowed.has(arn)) {
      throw new GrantRefusedError(
        'grant_role_not_allowed',
        `grant role ${arn} is not among the roles this gateway may assume; add it to the allowed roles (deployment configuration) or fix the policy`,
        { details: { role: arn } },
      );
    }
    const sessionName = sessionNameOf(request.id);
    let loaded: [STSClient, typeof import('@aws-sdk/client-sts')];
    try {
      loaded = await Promise.all([this.#client(), import('@aws-sdk/client-sts')]);
    } catch (error) {
      // Nothing was committed: the redemption can be repeated once an operator fixes the runtime.
      throw new CredentialsUnavailableError(
        `the STS client could not be loaded (${error instanceof Error ? error.message : String(error)}); an operator must check the function's runtime and configuration`,
        { cause: error },
      );
    }
    const [client, { AssumeRoleCommand }] = loaded;
    let answer: AssumeRoleCommandOutput;
    try {
      answer = await client.send(
        new AssumeRoleCommand({
          RoleArn: arn,
          RoleSessionName: sessionName,
          DurationSeconds: policy.durationSeconds,
          Policy: policy.json,
          SourceIdentity: sourceIdentityOf(request.subject.id),
          Tags: [
            { Key: 'principal', Value: tagValue(request.subject.id) },
            { Key: 'request_id', Value: tagValue(request.id) },
            { Key: 'action_hash', Value: tagValue(request.actionHash) },
          ],
        }),
      );
    } catch (error) {
      throw stsError(error, arn);
    }
    const c = answer.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !c.Expiration) {
      throw new CredentialsUnavailableError('STS answered AssumeRole without credentials; retry in a moment');
    }
    const region = this.#config.region ?? (await client.config.region());
    return {
      type: 'aws_sts',
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      sessionToken: c.SessionToken,
      expiration: c.Expiration.toISOString(),
      usableUntil: policy.usableUntil.toISOString(),
      sessionName,
      ...(region ? { region } : {}),
    };
  }

  destroy(): void {
    this.#made?.destroy();
  }
}

/** An STS client with bounded retries and timeouts; credentials from the SDK's standard chain. */
export async function createStsClient(
  config: Omit<StsBrokerConfig, 'allowedRoleArns' | 'partition' | 'accountId'>,
): Promise<STSClient> {
  const { STSClient } = await import('@aws-sdk/client-sts');
  const options: STSClientConfig = {
    maxAttempts: 3,
    requestHandler: { connectionTimeout: 1_000, requestTimeout: 5_000, throwOnRequestTimeout: true },
    ...(config.region ? { region: config.region } : {}),
    ...(config.endpoint ? { endpoint: config.endpoint } : {}),
    ...(config.useFipsEndpoint !== undefined ? { useFipsEndpoint: config.useFipsEndpoint } : {}),
  };
  return new STSClient(options);
}

/** What the agent can do about an STS failure; the message never carries credentials. */
function stsError(error: unknown, arn: string): Error {
  const name = (error as { name?: string }).name ?? '';
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  const message = error instanceof Error ? error.message : String(error);
  if (name === 'PackedPolicyTooLargeException' || name === 'PackedPolicyTooLarge') {
    return new GrantRefusedError(
      'grant_policy_too_large',
      `STS refused the session policy as too large once packed (${message}); grant fewer actions or resources per request`,
    );
  }
  if (name === 'AccessDenied' || name === 'AccessDeniedException') {
    return new GrantRefusedError(
      'grant_role_not_allowed',
      // STS's own text names the gateway's role: it goes to the operator's log (the cause), not to the agent.
      `STS refused to let the gateway assume ${arn}; an operator must check that the role's trust policy allows the gateway's role, sts:TagSession and sts:SetSourceIdentity`,
      { details: { role: arn }, cause: error },
    );
  }
  if (name === 'MalformedPolicyDocumentException' || name === 'MalformedPolicyDocument') {
    return new GrantRefusedError(
      'grant_incomplete',
      `STS refused the session policy (${message}); the grant's actions or resources are not valid IAM; fix the policy`,
    );
  }
  if (name === 'RegionDisabledException' || name === 'ExpiredTokenException') {
    return new CredentialsUnavailableError(
      `STS cannot issue credentials (${name}: ${message}); an operator must fix the gateway's STS configuration`,
      { cause: error },
    );
  }
  // Throttling, 5xx and the network: an outage; nothing was committed, the redemption can be repeated.
  if (status === undefined || status >= 500 || status === 429 || /Throttl/.test(name)) {
    return new CredentialsUnavailableError(
      `STS is unavailable (${name || 'network'}: ${message}); retry in a moment`,
      {
        cause: error,
      },
    );
  }
  return error instanceof Error ? error : new Error(message);
}
