/**
 * What a policy may return, and what its data document must hold. Both are strict: a field the
 * gateway does not know, a wrong type or an out-of-range number is a broken policy, and a broken
 * policy denies (docs/design.md#42-policy-contract, fail closed).
 */
import { z } from 'zod';
import { type PrincipalType, principalProblem, principalType } from '../core/principals.ts';

/** Stable, machine-readable reason codes: `prod_cui_export`, `policy_error`. */
const reasonCode = z
  .string()
  .regex(/^[a-z][a-z0-9_]{0,63}$/, 'a lowercase snake_case code of at most 64 characters');

const reasonSchema = z.strictObject({
  code: reasonCode,
  message: z.string().min(1).max(1000),
});

const name = z.string().min(1).max(256);

/** Upper bounds keep a typo (`timeout_seconds: 36000000`) from parking a request for a year. */
const MAX_TIMEOUT_SECONDS = 7 * 24 * 3600;
const MAX_APPROVALS = 20;
/** STS caps a role-chained session at one hour; the useful window is shorter (docs/design.md#45-credentials). */
const MAX_GRANT_WINDOW_SECONDS = 3600;

export const approvalSchema = z
  .strictObject({
    groups: z.array(name).min(1),
    min_approvals: z.number().int().min(1).max(MAX_APPROVALS),
    timeout_seconds: z.number().int().min(1).max(MAX_TIMEOUT_SECONDS),
    escalate_after_seconds: z.number().int().min(1).optional(),
    escalation_groups: z.array(name).min(1).optional(),
    exclude: z.array(name).optional(),
    channels: z.array(name).optional(),
    step_up: z.boolean().optional(),
  })
  .superRefine((approval, ctx) => {
    const after = approval.escalate_after_seconds;
    if ((after === undefined) !== (approval.escalation_groups === undefined)) {
      ctx.addIssue({
        code: 'custom',
        message: 'escalate_after_seconds and escalation_groups must be given together',
        path: ['escalation_groups'],
      });
    }
    if (after !== undefined && after >= approval.timeout_seconds) {
      ctx.addIssue({
        code: 'custom',
        message: 'escalate_after_seconds must be less than timeout_seconds, or escalation never happens',
        path: ['escalate_after_seconds'],
      });
    }
  });

export const grantSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('none') }),
  z.strictObject({
    type: z.literal('aws_sts'),
    role: name,
    actions: z.array(z.string().min(1).max(256)).min(1),
    resources: z.array(z.string().min(1).max(2048)).min(1),
    window_seconds: z.number().int().min(1).max(MAX_GRANT_WINDOW_SECONDS),
    // Wildcards in actions/resources are refused at redemption unless listed here verbatim.
    wildcards: z.array(z.string().min(1).max(2048)).max(64).optional(),
  }),
]);

const reasons = z.array(reasonSchema).min(1).max(32);
const notify = z.array(name).min(1).optional();

/** The value of `data.approvals.decision`. Only `require_approval` carries an approval. */
export const rawDecisionSchema = z.discriminatedUnion('outcome', [
  z.strictObject({
    outcome: z.literal('allow'),
    reasons,
    grant: grantSchema.optional(),
    notify,
    post_review: z.boolean().optional(),
  }),
  z.strictObject({
    outcome: z.literal('require_approval'),
    reasons,
    approval: approvalSchema,
    grant: grantSchema.optional(),
    notify,
    post_review: z.boolean().optional(),
  }),
  z.strictObject({
    outcome: z.literal('deny'),
    reasons,
    notify,
  }),
]);

export type RawDecision = z.infer<typeof rawDecisionSchema>;
export type RawApproval = z.infer<typeof approvalSchema>;

/** A canonical principal id; a non-canonical one names its canonical form in the error. */
function principalId(type?: PrincipalType) {
  return z.string().superRefine((value, ctx) => {
    const problem = principalProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
    else if (type !== undefined && principalType(value) !== type) {
      ctx.addIssue({ code: 'custom', message: `${JSON.stringify(value)} must be a ${type}: principal` });
    }
  });
}

const instant = z.iso.datetime({ offset: true });

/** `"user:alice@…"` is short for `{ "principal": "user:alice@…" }`. */
const delegationSchema = z.preprocess(
  (value) => (typeof value === 'string' ? { principal: value } : value),
  z
    .strictObject({
      principal: principalId('user'),
      not_before: instant.optional(),
      not_after: instant.optional(),
    })
    .refine((d) => !d.not_before || !d.not_after || Date.parse(d.not_before) < Date.parse(d.not_after), {
      message: 'not_before must be earlier than not_after',
    }),
);

/** `arn:<partition>:iam::<account>:role/<path/name>`: the roles whose sessions are the agent. */
const roleArn = z
  .string()
  .regex(
    /^arn:aws(?:-[a-z]+)*:iam::\d{12}:role\/(?:[\w+=,.@-]+\/)*[\w+=,.@-]{1,64}$/,
    'an IAM role ARN, arn:<partition>:iam::<account>:role/<name>',
  );

const agentSchema = z.strictObject({
  owners: z.array(principalId('user')).min(1, 'an agent needs at least one owner (a user: principal)'),
  acts_for: z.array(delegationSchema).optional(),
  aws_roles: z.array(roleArn).optional(),
});

/** An inventory entry: ids matching `match` (`*`, `?` wildcards) have these vouched attributes. */
const inventoryEntry = z.strictObject({
  match: z.string().min(1).max(2048),
  attributes: z.record(
    z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'a snake_case attribute name'),
    z.string().max(256),
  ),
});

/**
 * The part of the policy data the core reads (model `Directory`). Other top-level keys are policy
 * configuration and pass through; chat identity maps are optional so a Slack-only team needs none
 * for Teams. Every principal id must be canonical: a bundle naming `user:Bob@x` would never match
 * the `user:bob@x` who signs in, so it is refused at load.
 */
/** Overrides of the gateway's limits (core/limits.ts); bounded so a typo cannot lift them away. */
const limitOverrides = z.strictObject({
  calls_per_minute: z.number().int().min(1).max(1_000_000).optional(),
  submissions_per_minute: z.number().int().min(1).max(100_000).optional(),
  max_pending: z.number().int().min(1).max(1_000_000).optional(),
});

export const directorySchema = z.object({
  limits: z
    .strictObject({
      default: limitOverrides.optional(),
      principals: z.record(principalId(), limitOverrides).optional(),
    })
    .optional(),
  inventory: z.array(inventoryEntry).max(10_000).optional(),
  groups: z.record(z.string().min(1), z.array(principalId())),
  identities: z.object({
    slack: z.record(z.string().min(1), principalId()).optional(),
    teams: z.record(z.string().min(1), principalId()).optional(),
    oidc: z.record(z.string().min(1), principalId()).optional(),
  }),
  // partialRecord: zod's record over an enum requires every key; a pack may route one channel only.
  notifications: z
    .partialRecord(
      z.enum(['slack', 'teams', 'webhook']),
      z.record(z.string().min(1).max(128), z.string().min(1).max(512)),
    )
    .optional(),
  agents: z
    .record(principalId('agent'), agentSchema)
    .optional()
    .superRefine((agents, ctx) => {
      const seen = new Map<string, string>();
      for (const [agent, declaration] of Object.entries(agents ?? {})) {
        for (const role of declaration.aws_roles ?? []) {
          const key = roleKey(role);
          const other = seen.get(key);
          if (other !== undefined && other !== agent) {
            ctx.addIssue({
              code: 'custom',
              path: [agent, 'aws_roles'],
              message: `the role ${role} is declared for both ${other} and ${agent}; a role is one agent`,
            });
          }
          seen.set(key, agent);
        }
      }
    }),
});

/** IAM role names are unique per account regardless of case and path. */
export function roleKey(arn: string): string {
  const [, partition = '', , , account = '', resource = ''] = arn.split(':');
  const name = resource.slice(resource.lastIndexOf('/') + 1);
  return `${partition}:${account}:${name}`.toLowerCase();
}

/**
 * Strings anywhere in the policy data that start with a principal type (or an alias such as
 * `human:`) must be canonical too: teams, break-glass lists and other pack configuration name
 * people, and a non-canonical name there silently never matches. `iam:` is checked only in its
 * `iam:arn:` form, since `iam:PassRole` is an IAM action name, not a principal.
 */
export function nonCanonicalPrincipals(data: unknown, limit = 5): string[] {
  const found: string[] = [];
  const visit = (value: unknown, path: string, depth: number): void => {
    if (found.length >= limit || depth > 64) return;
    if (typeof value === 'string') {
      if (/^\s*(user|agent|human|person|iam:arn):/i.test(value)) {
        const problem = principalProblem(value);
        if (problem) found.push(`${path}: ${problem}`);
      }
      return;
    }
    if (Array.isArray(value)) {
      for (const [i, item] of value.entries()) visit(item, `${path}[${i}]`, depth + 1);
      return;
    }
    if (typeof value === 'object' && value !== null) {
      for (const [key, inner] of Object.entries(value)) {
        visit(key, `${path}.${key} (key)`, depth + 1);
        visit(inner, `${path}.${key}`, depth + 1);
      }
    }
  };
  visit(data, 'data', 0);
  return found;
}

/** `path.to[0].field: message` for each issue, for load errors and logs. */
export function describeIssues(error: z.ZodError, limit = 5): string {
  const lines = error.issues.slice(0, limit).map((issue) => {
    const path = issue.path
      .map((part) => (typeof part === 'number' ? `[${part}]` : `.${String(part)}`))
      .join('');
    // A bad record key reports "Invalid key in record"; the reason is in its nested issue.
    const nested = issue.code === 'invalid_key' ? issue.issues[0]?.message : undefined;
    return `${path === '' ? '(root)' : path.replace(/^\./, '')}: ${nested ?? issue.message}`;
  });
  const more = error.issues.length > limit ? ` (and ${error.issues.length - limit} more)` : '';
  return `${lines.join('; ')}${more}`;
}
