/**
 * `GET /v1/whoami`: who the gateway takes the caller to be, and what the policy data says about
 * them — the first thing to look at when a vote is refused or a request is "not found".
 */
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { isAuditor } from '../core/access.ts';
import * as lifecycle from '../core/lifecycle.ts';
import type { ActionRequest, Directory } from '../core/model.ts';
import type { ApprovalService } from '../core/service.ts';
import { ErrorView, RequestIdParam } from './schemas.ts';

const VoteView = z.object({
  decision: z.enum(['approve', 'reject']),
  channel: z.string(),
  time: z.string(),
});

export const WhoamiView = z
  .object({
    principal: z.string().openapi({
      description: 'Your principal id: the one approvals, exclusions and the audit trail use',
      example: 'user:bob@example.gov',
    }),
    type: z.string().openapi({ description: 'The part of the id before the first colon', example: 'user' }),
    authentication: z.enum(['bearer', 'iam']).openapi({
      description: '`bearer`: a token of the local gateway; `iam`: AWS SigV4 through API Gateway',
    }),
    groups: z.array(z.string()).openapi({
      description:
        "The policy data's groups you are a member of; a request's approving groups are matched against these",
      example: ['data-owners'],
    }),
    auditor: z.boolean().openapi({ description: 'Whether you may read every request and audit trail' }),
    chat_identities: z
      .object({ slack: z.array(z.string()), teams: z.array(z.string()) })
      .openapi({ description: 'Chat user ids the policy data binds to you (for approvals from chat)' }),
    policy_digest: z.string().openapi({
      description: 'The policy bundle whose data these answers come from',
      example: `sha256:${'0'.repeat(64)}`,
    }),
    review: z
      .object({
        request_id: z.string(),
        status: z.string(),
        may_vote: z.boolean().openapi({ description: 'Whether a vote from you would be counted now' }),
        reason: z
          .object({ code: z.string(), message: z.string() })
          .optional()
          .openapi({ description: 'Why not, when `may_vote` is false' }),
        approving_groups: z.array(z.string()).openapi({
          description: 'The groups whose members may vote now (escalation groups once escalated)',
        }),
        your_vote: VoteView.optional(),
      })
      .optional()
      .openapi({ description: 'With `?request_id=`: whether you may vote on that request, and if not, why' }),
  })
  .openapi('Whoami');
export type WhoamiView = z.infer<typeof WhoamiView>;

export const WhoamiQuery = z.object({
  request_id: RequestIdParam.shape.id.optional().openapi({
    param: { name: 'request_id', in: 'query' },
    description: 'Also say whether you may vote on this request, and why not',
  }),
});

const error = (description: string) => ({
  content: { 'application/json': { schema: ErrorView } },
  description,
});

/** Registers `GET /v1/whoami` on the application; authentication has already run for `/v1/*`. */
export function registerWhoami<E extends { Variables: { principal: string } }>(
  app: OpenAPIHono<E>,
  service: ApprovalService,
): void {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/whoami',
      operationId: 'whoami',
      summary: 'Who the gateway takes you to be: principal, groups, and whether you may vote on a request',
      security: [{ bearer: [] }, { sigv4: [] }],
      request: { query: WhoamiQuery },
      responses: {
        200: { content: { 'application/json': { schema: WhoamiView } }, description: 'You' },
        400: error('Invalid `request_id`'),
        401: error('Not authenticated'),
        404: error('`request_id` names no request you may see'),
        503: error('A dependency is unavailable; retry'),
      },
    }),
    async (c) => {
      const principal: string = c.var.principal;
      // Validated by the route's schema before we get here; the generic app type hides that from tsc.
      const { request_id: requestId } = c.req.valid('query' as never) as z.infer<typeof WhoamiQuery>;
      const directory = service.directory;
      const view: WhoamiView = {
        principal,
        type: lifecycle.subjectOf(principal).type,
        authentication: authentication(c),
        groups: Object.keys(directory.groups)
          .filter((group) => directory.groups[group]?.includes(principal))
          .sort(),
        auditor: isAuditor(directory, principal),
        chat_identities: {
          slack: boundTo(directory.identities.slack, principal),
          teams: boundTo(directory.identities.teams, principal),
        },
        policy_digest: service.policyDigest,
        ...(requestId === undefined
          ? {}
          : { review: review(await service.get(requestId, principal), principal, directory, service.now()) }),
      };
      return c.json(view, 200);
    },
  );
}

/**
 * How the caller authenticated. Only two authenticators exist: bearer tokens (local gateway) and
 * API Gateway's IAM authorization, which admits SigV4-signed calls only, so a caller that got here
 * without a bearer token came through IAM.
 */
function authentication(c: Context): 'bearer' | 'iam' {
  return /^bearer\s/i.test(c.req.header('authorization') ?? '') ? 'bearer' : 'iam';
}

function boundTo(bindings: Readonly<Record<string, string>> | undefined, principal: string): string[] {
  return Object.entries(bindings ?? {})
    .filter(([, bound]) => bound === principal)
    .map(([chatId]) => chatId)
    .sort();
}

/** The same rules the vote itself applies, in the same order, without recording anything. */
function review(
  request: ActionRequest,
  principal: string,
  directory: Directory,
  now: Date,
): NonNullable<WhoamiView['review']> {
  const approval = request.approval;
  const approvingGroups = approval ? [...lifecycle.activeGroups(approval)] : [];
  const vote = approval?.votes.find((v) => v.approver === principal);
  const base = {
    request_id: request.id,
    status: request.status,
    approving_groups: approvingGroups,
    ...(vote ? { your_vote: { decision: vote.decision, channel: vote.channel, time: vote.time } } : {}),
  };
  const refusal = lifecycle.ineligibility(request, principal, directory);
  // A deadline can pass before the expiry timer fires; a vote then is late, as the vote itself finds.
  const overdue = approval !== undefined && now.getTime() >= Date.parse(approval.expiresAt);
  const reason = refusal
    ? { code: refusal.code, message: refusal.message }
    : request.status !== 'pending' || overdue
      ? {
          code: 'request_not_pending',
          message:
            request.status === 'pending'
              ? `request ${request.id} passed its deadline at ${approval?.expiresAt}; votes are no longer accepted`
              : `request ${request.id} is ${request.status}; votes are no longer accepted`,
        }
      : vote
        ? {
            code: 'already_voted',
            message: `you voted to ${vote.decision} at ${vote.time}; your vote stands and cannot be changed`,
          }
        : undefined;
  return reason ? { ...base, may_vote: false, reason } : { ...base, may_vote: true };
}
