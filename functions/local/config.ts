/** Local gateway configuration: one JSON file (docs/design.md#5-local-mode), validated once, failing loudly. */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
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

export const LocalConfigSchema = z.strictObject({
  port: z.number().int().min(0).max(65535).default(8787),
  host: z.string().default('127.0.0.1'),
  dataDir: z.string().default('.ala'),
  policy: z
    .strictObject({ wasm: z.string(), data: z.string() })
    .default({ wasm: 'policies/build/policy.wasm', data: 'policies/build/data.json' }),
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
  slack: z
    .strictObject({
      signingSecret: z.string().min(1),
      botToken: z.string().min(1),
      appToken: z.string().optional(),
      apiUrl: z.url().default('https://slack.com/api/'),
      channel: z.string().min(1),
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
});
export type LocalConfig = z.infer<typeof LocalConfigSchema> & { readonly principals: readonly Principal[] };
type Principal = z.infer<typeof Principal>;

export class ConfigError extends Error {}

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
    policy: { wasm: at(value.policy.wasm, policyRoot), data: at(value.policy.data, policyRoot) },
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
