/**
 * `GET /v1/whoami`: who the gateway takes the caller to be, and what the policy data says about
 * them — the first thing to look at when a vote is refused or a request is "not found".
 */
import { createRoute } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { activeGroups, ineligibility, isAuditor } from '../../core/eligibility.ts';
import type { ActionRequest, Directory } from '../../core/model.ts';
import { principalType } from '../../core/principals.ts';
import type { AppDependencies, GatewayApp } from '../context.ts';
import { errorResponses, json, security } from '../openapi.ts';
import { WhoamiQuery, WhoamiView } from '../schemas.ts';

const whoamiRoute = createRoute({
  method: 'get',
  path: '/v1/whoami',
  operationId: 'whoami',
  summary: 'Who the gateway takes you to be: principal, groups, and whether you may vote on a request',
  security,
  request: { query: WhoamiQuery },
  responses: {
    200: json(WhoamiView, 'You'),
    ...errorResponses(400, 401, 404, 503),
  },
});

export function registerWhoamiRoutes(app: GatewayApp, { service }: AppDependencies): void {
  app.openapi(whoamiRoute, async (c) => {
    const principal = c.get('principal');
    const { request_id: requestId } = c.req.valid('query');
    const directory = service.directory;
    const view: WhoamiView = {
      principal,
      type: principalType(principal) ?? 'unknown',
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
  });
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

/**
 * The rules the vote itself applies (eligibility.ts), in the same order, without recording
 * anything: the reason given is the one a vote would be refused with.
 */
function review(
  request: ActionRequest,
  principal: string,
  directory: Directory,
  now: Date,
): NonNullable<WhoamiView['review']> {
  const approval = request.approval;
  const vote = approval?.votes.find((v) => v.approver === principal);
  const base = {
    request_id: request.id,
    status: request.status,
    approving_groups: approval ? [...activeGroups(approval)] : [],
    ...(vote ? { your_vote: { decision: vote.decision, channel: vote.channel, time: vote.time } } : {}),
  };
  const refusal = ineligibility(request, principal, directory);
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
