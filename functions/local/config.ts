/** Local gateway configuration: one JSON file (docs/design.md#5-local-mode), validated once, failing loudly. */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { TEAMS_CLOUDS } from '../adapters/chat/teams/clouds.ts';
import { PrincipalId } from '../http/schemas.ts';
import { packageRoot } from './package-root.ts';

export const REPO_ROOT = packageRoot();

const Principal = z.strictObject({
  token: z
    .string()
    .min(16, 'tokens must be at least 16 characters')
    .max(512)
    .regex(/^[\x21-\x7e]+$/),
  id: PrincipalId,
});

/** Bundle trust: which key bundles must be signed for, and optionally which digest they must have. */
const policyTrustKeys = {
  /** `.signatures.json` of the bundle. @default beside the wasm module */
  signatures: z.string().optional(),
  /** PEM public key the bundle signature must verify with; required outside demo mode. */
  verificationKey: z.string().optional(),
  /** @default implied by the key: RSA → RS256, P-256 → ES256, Ed25519 → EdDSA */
  signingAlgorithm: z
    .enum(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'])
    .optional(),
  /** Pin: the policy digest the bundle must have. */
  digest: z
    .string()
    .regex(/^sha256:[0-9a-f]{64}$/, 'a policy digest such as sha256:<64 hex digits> (the banner prints it)')
    .optional(),
};

export const LocalConfigSchema = z.strictObject({
  port: z.number().int().min(0).max(65535).default(8787),
  host: z.string().default('127.0.0.1'),
  dataDir: z.string().default('.ala'),
  /**
   * Processes serving the port (docs/local-mode.md#workers): a number, or "auto" for one per core.
   * More than one share the port through node:cluster. @default 1: on the 2-core machine measured
   * (decision 0018) two workers cost more CPU per call than they gained.
   */
  workers: z.union([z.literal('auto'), z.number().int().min(1).max(64)]).default(1),
  policy: z
    .strictObject({
      wasm: z.string(),
      data: z.string(),
      ...policyTrustKeys,
      /** A candidate bundle evaluated beside the active one in shadow mode; it never decides. */
      shadow: z
        .strictObject({ wasm: z.string(), data: z.string(), signatures: z.string().optional() })
        .optional(),
      /** OPA-shaped decision log: a file (JSON Lines), "-" for stdout, or false. @default <dataDir>/decisions.jsonl */
      decisionLog: z.union([z.literal(false), z.string().min(1)]).optional(),
      /** Reload the bundle when its files change (SIGHUP always reloads). */
      watch: z.boolean().default(false),
    })
    .default({ wasm: 'policies/build/policy.wasm', data: 'policies/build/data.json', watch: false }),
  principals: z.array(Principal).max(10_000).optional(),
  logLevel: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  /**
   * What one principal may ask (core/limits.ts); policy data's `limits` override them per principal.
   */
  limits: z
    .strictObject({
      callsPerMinute: z.number().int().min(1).max(1_000_000).default(1200),
      submissionsPerMinute: z.number().int().min(1).max(100_000).default(120),
      maxPending: z.number().int().min(1).max(1_000_000).default(100),
    })
    .default({ callsPerMinute: 1200, submissionsPerMinute: 120, maxPending: 100 }),
  /**
   * What one client may hold of the server (docs/local-mode.md#limits): a slow client is cut off,
   * the others keep being served.
   */
  server: z
    .strictObject({
      /** All headers must arrive within this (slow-header clients). */
      headersTimeoutMs: z.number().int().min(500).max(120_000).default(10_000),
      /** The whole request, body included, must arrive within this (slow-body clients). */
      requestTimeoutMs: z.number().int().min(1_000).max(300_000).default(30_000),
      /** An idle keep-alive connection is closed after this. */
      keepAliveTimeoutMs: z.number().int().min(100).max(120_000).default(5_000),
      /** Connections held at once; more are refused at accept. */
      maxConnections: z.number().int().min(1).max(100_000).default(1_000),
    })
    .default({
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 30_000,
      keepAliveTimeoutMs: 5_000,
      maxConnections: 1_000,
    }),
  /**
   * Read resource tags (Resource Groups Tagging API) as vouched attributes for resources the
   * inventory does not know. `endpoint` points at an emulator (moto); credentials come from the
   * AWS SDK's default chain (environment, profile).
   */
  resourceTags: z
    .strictObject({
      region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'an AWS region such as us-east-1'),
      endpoint: z.url().optional(),
      tagAttributes: z
        .record(
          z.string().min(1).max(128),
          z.string().regex(/^[a-z][a-z0-9_]*$/, 'attribute names are lower-case letters, digits and _'),
        )
        .refine((mapping) => Object.keys(mapping).length > 0, 'map at least one tag key to an attribute')
        .optional(),
      ttlSeconds: z.number().int().min(1).max(86_400).default(300),
      timeoutMs: z.number().int().min(50).max(10_000).default(2_000),
    })
    .optional(),
  /**
   * Approval cards in Slack (docs/chat.md): the app's signing secret and bot token, the default
   * channel (an id such as C0123ABCD; policy data may route groups elsewhere), and — to receive
   * clicks over Socket Mode with no public URL — an app-level token. `apiUrl` points at a stand-in.
   */
  slack: z
    .strictObject({
      signingSecret: z.string().min(16, 'the Slack app signing secret (Basic Information → App Credentials)'),
      botToken: z.string().regex(/^xoxb-/, 'a bot token starts with xoxb- (OAuth & Permissions)'),
      appToken: z
        .string()
        .regex(/^xapp-/, 'an app-level token starts with xapp- (Basic Information → App-Level Tokens)')
        .optional(),
      apiUrl: z
        .url()
        .refine((url) => url.endsWith('/'), 'end the Web API base URL with /')
        .default('https://slack.com/api/'),
      channel: z
        .string()
        .regex(/^[CG][A-Z0-9]{2,}$/, 'a channel id such as C0123ABCD (channel details → About)'),
      teamId: z
        .string()
        .regex(
          /^[TE][A-Z0-9]{2,}$/,
          'a workspace id such as T0123ABCD, or an Enterprise Grid organisation id such as E0123ABCD',
        )
        .optional(),
    })
    .optional(),
  /**
   * Signed webhook deliveries of every card (docs/chat.md): the URL (policy data may route groups
   * to others) and the shared secret receivers verify the HMAC with.
   */
  webhook: z
    .strictObject({
      url: z.url().refine((url) => /^https?:/.test(url), 'an http(s) URL'),
      secret: z.string().min(32, 'at least 32 characters; generate one with: openssl rand -hex 32'),
      timeoutMs: z.number().int().min(100).max(10_000).default(3000),
    })
    .optional(),
  /**
   * Issue `aws_sts` grants through STS AssumeRole. The gateway's own AWS credentials come from the
   * SDK's standard chain (environment, profile, SSO, instance role); `endpoint` points at a VPC
   * endpoint or an emulator.
   */
  credentials: z
    .strictObject({
      sts: z.strictObject({
        partition: z.enum(['aws', 'aws-us-gov', 'aws-cn']).default('aws'),
        accountId: z.string().regex(/^\d{12}$/, 'must be the 12-digit account the grant roles live in'),
        allowedRoles: z.array(z.string().min(1)).min(1),
        region: z.string().min(1).optional(),
        endpoint: z.url().optional(),
        useFipsEndpoint: z.boolean().optional(),
      }),
    })
    .optional(),
  /**
   * The review page (docs/review-page.md): always served locally, at <baseUrl>/review. Without
   * `oidc`, people sign in with the demo tokens (or the configured principals' tokens); with it,
   * through that OpenID Connect provider, bound to principals by policy data `identities.oidc`.
   */
  review: z
    .strictObject({
      /** The URL people open the gateway at. Plain http only on a loopback address. @default http://<host>:<port> */
      baseUrl: z
        .url()
        .refine((url) => !url.endsWith('/'), 'leave out the trailing /')
        .optional(),
      /** Key material for the session cookies; @default a random one per start (sessions end at restart). */
      sessionSecret: z
        .string()
        .min(32, 'at least 32 characters; generate one with: openssl rand -hex 32')
        .optional(),
      sessionTtlSeconds: z.number().int().min(60).max(43_200).default(1800),
      /** A vote on a step-up request needs a sign-in at most this old. */
      stepUpMaxAgeSeconds: z.number().int().min(30).max(3600).default(300),
      oidc: z
        .strictObject({
          issuer: z.url(),
          clientId: z.string().min(1),
          clientSecret: z.string().min(1).optional(),
          principalClaim: z.enum(['sub', 'email']).default('sub'),
          scope: z.string().min(6).default('openid email profile'),
        })
        .optional(),
    })
    .optional(),
  /**
   * The Teams approval bot (docs/chat-teams.md): its Entra app id and client secret, the cloud
   * whose Bot Framework endpoints it uses, and the conversation cards go to when policy data routes
   * none of the asked groups (`notifications.teams`). The URLs override the cloud's endpoints.
   */
  teams: z
    .strictObject({
      appId: z.string().min(1, 'the bot’s Entra application (client) id'),
      appPassword: z.string().min(1, 'the app registration’s client secret'),
      tenantId: z.string().min(1).optional(),
      cloud: z.enum(TEAMS_CLOUDS).default('public'),
      conversation: z.string().min(1).optional(),
      serviceUrl: z.url().optional(),
      openIdMetadataUrl: z.url().optional(),
      tokenUrl: z.url().optional(),
    })
    .optional(),
});
export type LocalConfig = z.infer<typeof LocalConfigSchema> & { readonly principals: readonly Principal[] };
type Principal = z.infer<typeof Principal>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Reads and validates the config file; relative paths are resolved against the file's folder. */
export function loadConfig(
  path: string | undefined,
  cwd = process.cwd(),
): { config: LocalConfig; demo: boolean } {
  let raw: unknown = {};
  let base = cwd;
  if (path) {
    const file = resolve(cwd, path);
    if (!existsSync(file))
      throw new ConfigError(`config file ${file} does not exist; check --config or ALA_CONFIG`);
    try {
      raw = JSON.parse(readFileSync(file, 'utf8'));
    } catch (error) {
      throw new ConfigError(`config file ${file} is not valid JSON: ${(error as Error).message}`);
    }
    base = dirname(file);
  }
  const parsed = LocalConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ConfigError(`invalid configuration${path ? ` in ${path}` : ''}:\n${lines.join('\n')}`);
  }
  const value = parsed.data;
  const at = (p: string, root: string) => (isAbsolute(p) ? p : resolve(root, p));
  // The default policy bundle ships with the gateway; other paths are the config file's.
  const policyRoot = path && (raw as { policy?: unknown }).policy ? base : REPO_ROOT;
  const dataDir = at(value.dataDir, base);
  const config = {
    ...value,
    dataDir,
    policy: {
      ...value.policy,
      wasm: at(value.policy.wasm, policyRoot),
      data: at(value.policy.data, policyRoot),
      ...(value.policy.signatures ? { signatures: at(value.policy.signatures, policyRoot) } : {}),
      ...(value.policy.verificationKey
        ? { verificationKey: at(value.policy.verificationKey, policyRoot) }
        : {}),
      ...(value.policy.shadow
        ? {
            shadow: {
              wasm: at(value.policy.shadow.wasm, policyRoot),
              data: at(value.policy.shadow.data, policyRoot),
              ...(value.policy.shadow.signatures
                ? { signatures: at(value.policy.shadow.signatures, policyRoot) }
                : {}),
            },
          }
        : {}),
      ...(typeof value.policy.decisionLog === 'string' && value.policy.decisionLog !== '-'
        ? { decisionLog: at(value.policy.decisionLog, base) }
        : {}),
    },
    principals: value.principals ?? [],
  };
  const tokens = new Set<string>();
  for (const p of config.principals) {
    if (tokens.has(p.token))
      throw new ConfigError(`two principals share one token (${p.id}); tokens must be unique`);
    tokens.add(p.token);
  }
  return { config, demo: value.principals === undefined };
}

/**
 * Dev default: one token per demo principal, made at first start and kept in the data folder so
 * they stay valid across restarts. Never use these outside a laptop.
 */
export function demoPrincipals(dataDir: string, ids: readonly string[]): Principal[] {
  const file = join(dataDir, 'demo-tokens.json');
  let saved: Record<string, string> = {};
  if (existsSync(file)) {
    try {
      saved = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
    } catch {
      saved = {};
    }
  }
  let changed = false;
  const principals = ids.map((id) => {
    let token = saved[id];
    if (!token) {
      token = `ala_demo_${randomBytes(18).toString('base64url')}`;
      saved[id] = token;
      changed = true;
    }
    return { id, token };
  });
  if (changed) {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(file, `${JSON.stringify(saved, null, 2)}\n`, { mode: 0o600 });
  }
  return principals;
}
