/**
 * Lambda entry of the HTTP API behind API Gateway (REST, AWS_IAM): the same Hono application the
 * local gateway serves, over DynamoDB and Step Functions. Built once per cold start.
 */
import { handle, type LambdaContext, type LambdaEvent } from 'hono/aws-lambda';
import { systemClock, ulidIds } from '../adapters/system/system.ts';
import { RateLimits } from '../core/limits.ts';
import { ApprovalService } from '../core/service.ts';
import { createApp } from '../http/app.ts';
import { iamAuthenticator } from '../http/auth.ts';
import { agentRolesOf, parseAccountList } from '../http/iam-principal.ts';
import { logLifecycle } from '../observability/lifecycle-log.ts';
import {
  dataPlaneFromEnv,
  lambdaLogger,
  limitSettingsFromEnv,
  resourceAttributesFromEnv,
  stsBrokerFromEnv,
  workflowFromEnv,
} from './composition.ts';
import { ENV, optionalEnv } from './env.ts';
import { loadBundledPolicy } from './policy.ts';

const logger = lambdaLogger('ala-api');
const plane = dataPlaneFromEnv();
const policy = await loadBundledPolicy(logger);
const attributes = await resourceAttributesFromEnv(policy, logger);
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
  onCommit: logLifecycle(logger),
  onAuditMismatch: (request, problems) =>
    logger.error('request record disagrees with its audit chain; refused until investigated', {
      requestId: request.id,
      problems,
    }),
  // Without allowed grant roles there is no broker: aws_sts grants answer 501 credentials_not_configured.
  ...stsBrokerFromEnv(),
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

const serve = handle(createApp({ service, authenticate, logger }));

export const handler = logger.withContext((event: LambdaEvent, context: LambdaContext) =>
  serve(event, context),
);
