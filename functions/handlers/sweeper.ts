/**
 * Lambda entry of the sweeper, run every 5 minutes by an EventBridge schedule (sweep.ts): expires
 * overdue requests, starts missing executions, tells approvers when Notify could not, and resumes
 * executions a decision never reached.
 */
import type { Context } from 'aws-lambda';
import { systemClock, ulidIds } from '../adapters/system/system.ts';
import { ApprovalNotifications } from '../core/notifications.ts';
import { ApprovalService } from '../core/service.ts';
import { logLifecycle } from '../observability/lifecycle-log.ts';
import { dataPlaneFromEnv, lambdaLogger, reviewLinkFromEnv, workflowFromEnv } from './composition.ts';
import { noPolicy } from './no-policy.ts';
import { notifiersFromEnv } from './notifiers.ts';
import { loadBundledPolicy } from './policy.ts';
import { type SweepReport, sweepPendingRequests } from './sweep.ts';

const logger = lambdaLogger('ala-sweeper');
const plane = dataPlaneFromEnv();
const workflow = workflowFromEnv(plane, logger);
// The policy bundle only routes notifications (its directory); the sweeper evaluates nothing.
const directory = (await loadBundledPolicy(logger)).directory;
const service = new ApprovalService({
  store: plane.store,
  policy: noPolicy,
  clock: systemClock,
  ids: ulidIds(),
  // An expiry here resumes a still-waiting execution, which then finalizes.
  workflow,
  onWorkflowError: (error, request) =>
    logger.error('could not resume the approval execution', { requestId: request.id, error }),
  onCommit: logLifecycle(logger),
});
const notifications = new ApprovalNotifications({
  store: plane.store,
  sink: service,
  notifiers: await notifiersFromEnv(logger),
  ...reviewLinkFromEnv(),
  directory: () => directory,
  onError: (error, where) =>
    logger.error('notifier failed; approvers can still review through the API', { ...where, error }),
});

// Where the last run's reconciler stopped at its bound; a warm function continues there, a cold
// one starts from the beginning (either way every decided request is reached within a few runs).
let reconcileFrom: SweepReport['reconcileFrom'];

export const handler = logger.withContext(
  async (_event: unknown, context: Pick<Context, 'getRemainingTimeInMillis'>) => {
    const report: SweepReport = await sweepPendingRequests(
      {
        service,
        store: plane.store,
        tokens: plane.tokens,
        workflow,
        notifications,
        clock: systemClock,
        logger,
      },
      {
        remainingMs: () => context.getRemainingTimeInMillis(),
        ...(reconcileFrom ? { reconcileFrom } : {}),
      },
    );
    reconcileFrom = report.reconcileFrom;
    logger.info('sweep finished', { ...report });
    if (report.failed > 0) {
      // Fails the invocation so the Errors metric shows it; everything else was done.
      throw new Error(
        `sweeper could not handle ${report.failed} requests (pending or decided); see the log lines before this one`,
      );
    }
    return report;
  },
);
