/**
 * Lambda entry of the HTTP API behind API Gateway (REST, AWS_IAM): the same Hono application the
 * local gateway serves, over DynamoDB and Step Functions. Built once per cold start.
 */
import { handle, type LambdaContext, type LambdaEvent } from 'hono/aws-lambda';
import { systemClock, ulidIds } from '../adapters/system/system.ts';
import { RateLimits } from '../core/limits.ts';
import { ApprovalNotifications } from '../core/notifications.ts';
import type { Transition } from '../core/ports/store.port.ts';
import { ApprovalService } from '../core/service.ts';
import { createApp } from '../http/app.ts';
import { iamAuthenticator } from '../http/auth.ts';
import { agentRolesOf, parseAccountList } from '../http/iam-principal.ts';
import { MAX_WAIT_SECONDS } from '../http/schemas.ts';
import { logLifecycle } from '../observability/lifecycle-log.ts';
import { slackEndpointFromEnv } from './chat.ts';
import {
  dataPlaneFromEnv,
  lambdaLogger,
  limitSettingsFromEnv,
  resourceAttributesFromEnv,
  reviewLinkFromEnv,
  stsBrokerFromEnv,
  workflowFromEnv,
} from './composition.ts';
import { ENV, optionalEnv, optionalSeconds } from './env.ts';
import { notifiersFromEnv } from './notifiers.ts';
import { loadBundledPolicy } from './policy.ts';
import { reviewPageFromEnv } from './review.ts';
import { teamsFromEnv } from './teams.ts';

const logger = lambdaLogger('ala-api');
const logCommit = logLifecycle(logger);
const plane = dataPlaneFromEnv();
const policy = await loadBundledPolicy(logger);
const attributes = await resourceAttributesFromEnv(policy, logger);
const teams = await teamsFromEnv(logger);
// Cards owed by this invocation's commits (votes, decisions, an approver's escalation). Lambda
// freezes once the handler returns, so the handler waits for them before answering (a vote's
// answer is a little slower; no card is left stale).
const owed: Promise<void>[] = [];
let notifications: ApprovalNotifications | undefined;
const service = new ApprovalService({
  store: plane.store,
  policy,
  clock: systemClock,
  ids: ulidIds(),
  ...(attributes ? { attributes } : {}),
  // Counted in DynamoDB, so the limits hold across every instance of this function.
  limits: new RateLimits({
    counter: plane.counter,
    clock: systemClock,
    base: limitSettingsFromEnv(),
    directory: () => policy.directory,
  }),
  workflow: workflowFromEnv(plane, logger),
  // The request is committed either way; the sweeper starts executions that failed to start.
  onWorkflowError: (error, request) =>
    logger.error('approval workflow call failed; the sweeper catches up', { requestId: request.id, error }),
  onCommit: (transition) => {
    logCommit(transition);
    if (notifications?.configured) owed.push(cardsAfter(transition));
  },
  onAuditMismatch: (request, problems) =>
    logger.error('request record disagrees with its audit chain; refused until investigated', {
      requestId: request.id,
      problems,
    }),
  // Without allowed grant roles there is no broker: aws_sts grants answer 501 credentials_not_configured.
  ...stsBrokerFromEnv(),
});

notifications = new ApprovalNotifications({
  store: plane.store,
  sink: service,
  notifiers: await notifiersFromEnv(logger),
  directory: () => policy.directory,
  ...reviewLinkFromEnv(),
  onError: (error, where) =>
    logger.error('notifier failed; approvers can still review through the API', { ...where, error }),
});

const authenticate = iamAuthenticator(
  {
    trustedAccounts: parseAccountList(optionalEnv(ENV.trustedAccounts)),
    agentRoles: agentRolesOf(policy.directory),
    identityCenter: optionalEnv(ENV.identityCenterUsers) !== 'false',
    identityCenterAccounts: parseAccountList(
      optionalEnv(ENV.identityCenterAccounts),
      ENV.identityCenterAccounts,
    ),
  },
  (reason, arn) => logger.warn('caller refused', { reason, arn }),
);

const slack = await slackEndpointFromEnv(service, plane.tables.requests, logger);
const review = await reviewPageFromEnv(logger);
const maxWaitSeconds = optionalSeconds(ENV.maxWaitSeconds, 1, MAX_WAIT_SECONDS);
const serve = handle(
  createApp({
    service,
    authenticate,
    logger,
    ...(teams ? { teams: teams.inbound } : {}),
    ...(slack ? { slack } : {}),
    ...(review ? { review } : {}),
    ...reviewLinkFromEnv(),
    ...(maxWaitSeconds !== undefined ? { maxWaitSeconds } : {}),
  }),
);

export const handler = logger.withContext(async (event: LambdaEvent, context: LambdaContext) => {
  try {
    return await serve(event, context);
  } finally {
    // Work may add work (a refresh that records a notification commits again): drain it all.
    while (owed.length > 0) await Promise.allSettled(owed.splice(0));
  }
});

/**
 * Votes, decisions and escalations refresh the posted cards; an escalation by an approver (the
 * card's button) also tells the escalation groups now, as the workflow's Escalate stage would.
 * New requests are announced by the workflow's Notify stage, not here.
 */
async function cardsAfter(transition: Transition): Promise<void> {
  if (!notifications) return;
  await notifications.afterCommit(transition, { announce: false });
  if (transition.events.some((event) => event.type === 'request.escalated')) {
    await notifications.notify(transition.request.id, 'escalate');
  }
}
