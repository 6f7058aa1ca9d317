/**
 * Lambda entry of the approval state machine's tasks: Notify, Escalate, Expire, Finalize
 * (workflow-stages.ts). Built once per cold start.
 */
import type { Context } from 'aws-lambda';
import { systemClock, ulidIds } from '../adapters/system/system.ts';
import { ApprovalNotifications } from '../core/notifications.ts';
import { ApprovalService } from '../core/service.ts';
import { logLifecycle } from '../observability/lifecycle-log.ts';
import { dataPlaneFromEnv, lambdaLogger, reviewLinkFromEnv } from './composition.ts';
import { notifiersFromEnv } from './notifiers.ts';
import { loadBundledPolicy } from './policy.ts';
import { createWorkflowHandler } from './workflow-stages.ts';

const logger = lambdaLogger('ala-workflow');
const plane = dataPlaneFromEnv();
const policy = await loadBundledPolicy(logger);
// No workflow here: this function runs inside the execution it would tell.
const service = new ApprovalService({
  store: plane.store,
  policy,
  clock: systemClock,
  ids: ulidIds(),
  onCommit: logLifecycle(logger),
});
const notifications = new ApprovalNotifications({
  store: plane.store,
  sink: service,
  notifiers: await notifiersFromEnv(logger),
  ...reviewLinkFromEnv(),
  directory: () => policy.directory,
  onError: (error, where) =>
    logger.error('notifier failed; approvers can still review through the API', { ...where, error }),
});

const runStage = createWorkflowHandler({
  service,
  store: plane.store,
  tokens: plane.tokens,
  sfn: plane.sfn,
  notifications,
  clock: systemClock,
  logger,
});

export const handler = logger.withContext((event: unknown, _context: Context) => runStage(event));
