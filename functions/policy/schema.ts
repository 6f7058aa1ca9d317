/**
 * What a policy may return, and what its data document must hold. Both are strict: a field the
 * gateway does not know, a wrong type or an out-of-range number is a broken policy, and a broken
 * policy denies (DESIGN §4.2, fail closed).
 */
import { z } from 'zod';

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
/** STS caps a role-chained session at one hour; the useful window is shorter (DESIGN §4.5). */
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

const principalId = z.string().regex(/^[a-z][a-z0-9_-]*:\S+$/, 'a principal id such as user:bob@example.gov');

/**
 * The part of the policy data the core reads (model `Directory`). Other top-level keys are policy
 * configuration and pass through; chat identity maps are optional so a Slack-only team needs none
 * for Teams.
 */
export const directorySchema = z.object({
  groups: z.record(z.string().min(1), z.array(principalId)),
  identities: z.object({
    slack: z.record(z.string().min(1), principalId).optional(),
    teams: z.record(z.string().min(1), principalId).optional(),
  }),
});

/** `path.to[0].field: message` for each issue, for load errors and logs. */
export function describeIssues(error: z.ZodError, limit = 5): string {
  const lines = error.issues.slice(0, limit).map((issue) => {
    const path = issue.path
      .map((part) => (typeof part === 'number' ? `[${part}]` : `.${String(part)}`))
      .join('');
    return `${path === '' ? '(root)' : path.replace(/^\./, '')}: ${issue.message}`;
  });
  const more = error.issues.length > limit ? ` (and ${error.issues.length - limit} more)` : '';
  return `${lines.join('; ')}${more}`;
}
