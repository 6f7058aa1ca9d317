/** Lambda configuration: read once per cold start, typed, failing loudly when something is missing. */

export class MissingEnvironmentError extends Error {
  constructor(name: string, why: string) {
    super(
      `environment variable ${name} is not set (${why}); the CDK stack sets it on the function — redeploy, or set it when running the handler yourself`,
    );
    this.name = 'MissingEnvironmentError';
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
  /**
   * The gateway's limits (core/limits.ts), as JSON: `{"callsPerMinute":1200,"submissionsPerMinute":120,"maxPending":100}`,
   * any subset. Policy data's `limits` override them per principal. @default DEFAULT_LIMITS
   */
  limits: 'GATEWAY_LIMITS',
} as const;

/** The policy bundle files the api and workflow functions carry next to their handler. */
export const POLICY_FILES = { wasm: 'policy.wasm', data: 'data.json' } as const;
