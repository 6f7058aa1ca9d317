// Names and values shared by the harness, its global setup, tests and child processes.
import { randomBytes } from 'node:crypto';
import { readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (test/harness/../..). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Where `bash scripts/tools.sh` links the pinned tools (ALA_TEST_TOOLS_DIR overrides, e.g. for a worktree). */
export const TOOLS_DIR = process.env.ALA_TEST_TOOLS_DIR || join(REPO_ROOT, '.tools');
export const GUARD_SCRIPT = join(REPO_ROOT, 'test', 'harness', 'guard.mjs');

/** Environment variables the harness reads and/or sets. */
export const ENV = {
  /** Endpoint of the shared DynamoDB Local (set by global setup; preset it to reuse a running one). */
  dynamodbEndpoint: 'ALA_TEST_DYNAMODB_ENDPOINT',
  /** Endpoint of the shared moto server (set by global setup; preset it to reuse a running one). */
  motoEndpoint: 'ALA_TEST_MOTO_ENDPOINT',
  /** Region the emulators are addressed with. */
  region: 'ALA_TEST_REGION',
  /** Id of this test run; tagged onto every emulator process (see check-no-orphans.sh). */
  runId: 'ALA_TEST_RUN_ID',
  /** Comma list of emulators global setup starts: `dynamodb,moto` (default), `none`. */
  emulators: 'ALA_TEST_EMULATORS',
  /** Startup deadline per emulator, ms (default 60000). */
  startupTimeoutMs: 'ALA_TEST_STARTUP_TIMEOUT_MS',
  /** Extra/overriding JVM options for DynamoDB Local (space separated). */
  javaOpts: 'ALA_TEST_DYNAMODB_JAVA_OPTS',
  /** `1` keeps emulator logs after a clean run (they are always kept after a failure). */
  keepLogs: 'ALA_TEST_KEEP_LOGS',
  /** Another `.tools` directory (default: the repository's). */
  toolsDir: 'ALA_TEST_TOOLS_DIR',
  /** `1` silences the harness' timing lines. */
  quiet: 'ALA_TEST_QUIET',
} as const;

export const TEST_REGION = 'us-east-1';
/**
 * Dummy credentials: the emulators accept anything; real credentials must never be used. Pass a copy
 * to SDK clients (`{ ...TEST_CREDENTIALS }`): the SDK annotates the object it is given.
 */
export const TEST_CREDENTIALS: { readonly accessKeyId: string; readonly secretAccessKey: string } = {
  accessKeyId: 'test',
  secretAccessKey: 'test',
};
/** moto's default account (any access key that moto does not know maps to it). */
export const MOTO_ACCOUNT_ID = '123456789012';

let cachedRunId: string | undefined;
/** The run id: inherited from the environment (workers, children) or made once per process. */
export function runId(): string {
  cachedRunId ??= process.env[ENV.runId] ?? `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  return cachedRunId;
}

const RUNS_DIR = join(tmpdir(), 'ala-test-harness');

/** Base directory for emulator logs and on-disk DynamoDB data of this run. */
export function runDir(): string {
  return join(RUNS_DIR, runId());
}

/**
 * Removes run directories untouched for `maxAgeMs` (left behind by killed runs or kept after a
 * crash). Runs that are still going touch their directory when an emulator starts or logs.
 */
export function pruneStaleRunDirs(maxAgeMs = 24 * 60 * 60 * 1000): void {
  let entries: string[];
  try {
    entries = readdirSync(RUNS_DIR);
  } catch {
    return;
  }
  const cutoff = Date.now() - maxAgeMs;
  for (const entry of entries) {
    const dir = join(RUNS_DIR, entry);
    try {
      if (statSync(dir).mtimeMs < cutoff) rmSync(dir, { recursive: true, force: true });
    } catch {
      // raced with another run's cleanup
    }
  }
}

export function startupTimeoutMs(): number {
  const raw = process.env[ENV.startupTimeoutMs];
  const n = raw === undefined ? Number.NaN : Number(raw);
  return Number.isFinite(n) && n > 0 ? n : 60_000;
}

export function harnessLog(message: string): void {
  if (process.env[ENV.quiet] !== '1') process.stderr.write(`[harness] ${message}\n`);
}

/** AWS SDK variables that could point a client at a real account, a profile or a metadata service. */
const AWS_VARS_TO_CLEAR = [
  'AWS_PROFILE',
  'AWS_DEFAULT_PROFILE',
  'AWS_SESSION_TOKEN',
  'AWS_SECURITY_TOKEN',
  'AWS_CREDENTIAL_EXPIRATION',
  'AWS_ROLE_ARN',
  'AWS_ROLE_SESSION_NAME',
  'AWS_WEB_IDENTITY_TOKEN_FILE',
  'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
  'AWS_CONTAINER_CREDENTIALS_FULL_URI',
  'AWS_CONTAINER_AUTHORIZATION_TOKEN',
  'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE',
  'AWS_EC2_METADATA_SERVICE_ENDPOINT',
  'AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE',
  'AWS_USE_FIPS_ENDPOINT',
  'AWS_USE_DUALSTACK_ENDPOINT',
  'AWS_IGNORE_CONFIGURED_ENDPOINT_URLS',
  'AWS_SDK_LOAD_CONFIG',
] as const;

export interface OfflineEndpoints {
  dynamodb?: string | undefined;
  moto?: string | undefined;
}

/**
 * The environment that keeps every AWS SDK (JS v3, boto3, the CLI) offline: dummy static credentials,
 * a fixed region, no profile/config files, no instance metadata service, and default endpoints that
 * are the emulators (`AWS_ENDPOINT_URL*`), so even a client built without an explicit endpoint never
 * reaches AWS. `undefined` values mean "delete this variable".
 */
export function offlineAwsEnv(endpoints: OfflineEndpoints): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {};
  for (const name of AWS_VARS_TO_CLEAR) env[name] = undefined;
  const nowhere = join(runDir(), 'no-such-aws-file');
  Object.assign(env, {
    AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
    AWS_REGION: TEST_REGION,
    AWS_DEFAULT_REGION: TEST_REGION,
    AWS_EC2_METADATA_DISABLED: 'true',
    // The SDK's "node >= 22 from 2027" notice, printed once per process, is noise in test output.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    AWS_SHARED_CREDENTIALS_FILE: nowhere,
    AWS_CONFIG_FILE: nowhere,
    [ENV.region]: TEST_REGION,
    [ENV.runId]: runId(),
  });
  if (endpoints.moto !== undefined) {
    env.AWS_ENDPOINT_URL = endpoints.moto;
    env[ENV.motoEndpoint] = endpoints.moto;
  }
  if (endpoints.dynamodb !== undefined) {
    env.AWS_ENDPOINT_URL_DYNAMODB = endpoints.dynamodb;
    env.AWS_ENDPOINT_URL_DYNAMODB_STREAMS = endpoints.dynamodb;
    env[ENV.dynamodbEndpoint] = endpoints.dynamodb;
  }
  return env;
}

/** Applies `vars` to `target` (default process.env); returns a function that restores the old values. */
export function applyEnv(
  vars: Record<string, string | undefined>,
  target: NodeJS.ProcessEnv = process.env,
): () => void {
  const previous = new Map<string, string | undefined>();
  for (const [name, value] of Object.entries(vars)) {
    previous.set(name, target[name]);
    if (value === undefined) delete target[name];
    else target[name] = value;
  }
  return () => {
    for (const [name, value] of previous) {
      if (value === undefined) delete target[name];
      else target[name] = value;
    }
  };
}

/** `env` with `vars` applied (a copy; for child processes). */
export function withEnv(
  env: NodeJS.ProcessEnv,
  vars: Record<string, string | undefined>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) if (value !== undefined) out[name] = value;
  for (const [name, value] of Object.entries(vars)) {
    if (value === undefined) delete out[name];
    else out[name] = value;
  }
  return out;
}
