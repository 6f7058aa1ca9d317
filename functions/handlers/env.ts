/** Lambda configuration: read once per cold start, typed, failing loudly when something is missing. */

export class MissingEnvironmentError extends Error {
  override name = 'MissingEnvironmentError';
  constructor(name: string, why: string) {
    super(
      `environment variable ${name} is not set (${why}); the CDK stack sets it on the function — redeploy, or set it when running the handler yourself`,
    );
  }
}

/** The value of `name`; throws MissingEnvironmentError naming the variable when unset or empty. */
export function requireEnv(name: string, why = 'required'): string {
  const value = process.env[name];
  if (value === undefined || value.trim() === '') throw new MissingEnvironmentError(name, why);
  return value;
}

export function optionalEnv(name: string): string | undefined {
  const value = process.env[name];
  return value === undefined || value.trim() === '' ? undefined : value;
}

/** Names of the variables the stack sets on the functions. */
export const ENV = {
  requestsTable: 'REQUESTS_TABLE_NAME',
  auditTable: 'AUDIT_TABLE_NAME',
  stateMachineArn: 'STATE_MACHINE_ARN',
  /** Folder holding policy.wasm and data.json; defaults to the bundle's own folder. */
  policyDir: 'POLICY_DIR',
  /** PEM public key the bundle's `.signatures.json` must verify with (the stack prop policyVerificationKey). */
  policyVerificationKey: 'POLICY_VERIFICATION_KEY',
  /** JWS algorithm of the signature; @default implied by the key (RSA → RS256, P-256 → ES256). */
  policySigningAlgorithm: 'POLICY_SIGNING_ALG',
  /** `sha256:<hex>`: the policy digest the bundle must have (the stack prop policyDigest). */
  policyDigest: 'POLICY_DIGEST',
  /** Sub-folder of the policy folder with a candidate bundle evaluated in shadow mode. */
  policyShadowDir: 'POLICY_SHADOW_DIR',
  /** `false` turns off the decision log (one JSON line per evaluation on stdout). @default true */
  policyDecisionLog: 'POLICY_DECISION_LOG',
  /** Comma-separated 12-digit accounts, besides the API's own, whose callers are accepted. */
  trustedAccounts: 'TRUSTED_ACCOUNT_IDS',
  /** `false` stops mapping IAM Identity Center sessions to people. @default true */
  identityCenterUsers: 'IDENTITY_CENTER_USERS',
  /** Trusted accounts whose Identity Center sessions are people (comma-separated). */
  identityCenterAccounts: 'IDENTITY_CENTER_ACCOUNT_IDS',
  /** Comma-separated role ARNs aws_sts grants may name; unset: no credential broker (501). */
  grantRoleArns: 'GRANT_ROLE_ARNS',
  /** Partition and account grant role names resolve in (the stack's own). */
  grantPartition: 'GRANT_ROLE_PARTITION',
  grantAccount: 'GRANT_ROLE_ACCOUNT_ID',
  /** `true` reads resource tags (Resource Groups Tagging API) for resources the inventory does not know. */
  resourceTagsEnabled: 'RESOURCE_TAGS_ENABLED',
  /** `tagKey=attribute,…` (a bare `key` maps to itself). @default environment,data_classification,owner */
  resourceTagAttributes: 'RESOURCE_TAG_ATTRIBUTES',
  /** The Object Lock bucket the audit archiver writes to. */
  archiveBucket: 'AUDIT_ARCHIVE_BUCKET',
  /** Audit events per archive object at most (the archiver's). @default 1000 */
  archiveObjectMaxEvents: 'AUDIT_ARCHIVE_OBJECT_MAX_EVENTS',
  /** Longest long-poll the api function holds, in whole seconds (1–25). @default 25 */
  maxWaitSeconds: 'MAX_WAIT_SECONDS',
  /** Secrets Manager secret {"signingSecret", "botToken"}: Slack is on (docs/chat.md). */
  slackSecretArn: 'SLACK_SECRET_ARN',
  /** The Slack channel id cards go to unless policy data routes a group elsewhere. */
  slackChannel: 'SLACK_CHANNEL',
  /** The Slack workspace (T…) or Grid organisation (E…) whose clicks count. @default - any */
  slackTeamId: 'SLACK_TEAM_ID',
  /** The Slack Web API base URL. @default https://slack.com/api/ */
  slackApiUrl: 'SLACK_API_URL',
  /** Signed webhook deliveries of every card go here (docs/chat.md). */
  webhookUrl: 'WEBHOOK_URL',
  /** Secrets Manager secret {"secret"}: the webhook's shared HMAC secret. */
  webhookSecretArn: 'WEBHOOK_SECRET_ARN',
  /**
   * The gateway's limits (core/limits.ts), as JSON: `{"callsPerMinute":1200,"submissionsPerMinute":120,"maxPending":100}`,
   * any subset. Policy data's `limits` override them per principal. @default DEFAULT_LIMITS
   */
  limits: 'GATEWAY_LIMITS',
  /**
   * Shards of the requests table's indexes (functions/adapters/dynamodb/keys.ts), as JSON:
   * `{"shards":4,"statusShards":32}`, any subset. Every function sharing the table must agree;
   * changing them on a deployed table needs the re-keying of docs/data-model.md. @default DEFAULT_KEY_OPTIONS
   */
  indexShards: 'INDEX_SHARDS',
  /**
   * The review page's public base URL (https; the API's custom domain or stage URL, without a
   * trailing /). Set: chat cards link to the page (docs/review-page.md).
   */
  reviewBaseUrl: 'REVIEW_BASE_URL',
  /**
   * Secrets Manager secret {"issuer", "clientId", "clientSecret"?, "sessionSecret"}: the review
   * page's OpenID Connect client and its cookie key. Unset: the page answers 404.
   */
  reviewOidcSecretArn: 'REVIEW_OIDC_SECRET_ARN',
  /** Which ID token claim `identities.oidc` is keyed by: `sub` or `email` (verified only). @default sub */
  reviewPrincipalClaim: 'REVIEW_PRINCIPAL_CLAIM',
  /** Step-up window in seconds (30–3600). @default 300 */
  reviewStepUpMaxAgeSeconds: 'REVIEW_STEP_UP_MAX_AGE_SECONDS',
} as const;

/** A whole number of seconds from `min` to `max` in `name`, or undefined when unset. */
export function optionalSeconds(name: string, min: number, max: number): number | undefined {
  const text = optionalEnv(name);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(
      `environment variable ${name} must be a whole number of seconds from ${min} to ${max}, got "${text}"; the CDK stack sets it from its props`,
    );
  }
  return value;
}

/** The signed policy bundle files the api and workflow functions carry next to their handler. */
export const POLICY_FILES = {
  wasm: 'policy.wasm',
  data: 'data.json',
  manifest: '.manifest',
  signatures: '.signatures.json',
} as const;
