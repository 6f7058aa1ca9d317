/**
 * The backstop behind the state machine. Each run:
 *
 * 1. pages through pending requests and
 *    - expires those past their deadline (an execution that never started, failed, or was stopped);
 *    - starts the execution of those that have no task token a minute after submit — a no-op when
 *      it exists, as executions are named after the request;
 *    - when the execution exists but its Notify stage never stored a token (throttled, or failed
 *      for good and now waiting for the deadline), tells the approvers in its place: the
 *      dispatcher posts only what no one posted yet for that stage and channel, so this is
 *      idempotent and never a second card;
 * 2. reconciles: a decided request whose waiting task was never resumed (the SendTaskSuccess after
 *    the decision failed) gets its execution resumed with the outcome, instead of waiting in
 *    Notify/Escalate until the deadline.
 *
 * Everything is idempotent, bounded per run, and a sweep that races the state machine loses
 * harmlessly. A repair is logged once, when it happens; a healthy request logs nothing.
 */
import type { StoredTaskToken, TaskTokenStore } from '../adapters/aws/task-token-store.ts';
import type { ActionRequest, Status } from '../core/model.ts';
import { cursorAfter } from '../core/paging.ts';
import type { Clock } from '../core/ports/clock.port.ts';
import type { NotificationStage } from '../core/ports/notifier.port.ts';
import type { RequestStore } from '../core/ports/store.port.ts';
import type { ApprovalWorkflow } from '../core/ports/workflow.port.ts';
import type { ApprovalService } from '../core/service.ts';
import type { Logger } from '../observability/logger.ts';
import { tokenKeepUntil } from './workflow-stages.ts';

/** The workflow as the sweeper uses it: whether a start started anything, resume with a stored token. */
export interface SweepWorkflow extends ApprovalWorkflow {
  /** Starts the execution; true when this call started it, false when it existed already. */
  startIfMissing(request: ActionRequest): Promise<boolean>;
  /** SendTaskSuccess with the outcome; false when the task was over already. */
  resume(request: ActionRequest, taskToken: string): Promise<boolean>;
}

export interface SweepDependencies {
  readonly service: ApprovalService;
  readonly store: RequestStore;
  readonly tokens: TaskTokenStore;
  readonly workflow: SweepWorkflow;
  /** Tells approvers when Notify could not; without it the fallback is off. */
  readonly notifications?: { notify(requestId: string, stage: NotificationStage): Promise<number> };
  readonly clock: Clock;
  readonly logger: Logger;
}

export interface SweepOptions {
  /** How long past its deadline a request may stay pending before the sweeper expires it. @default 30 s */
  readonly expireGraceMs?: number;
  /** How old a pending request without a task token must be before its execution is (re)started. @default 60 s */
  readonly startGraceMs?: number;
  /** How long after a decision its own SendTaskSuccess may still be on its way. @default 60 s */
  readonly resumeGraceMs?: number;
  /** Most decided requests whose token the reconciler reads in one run. @default 1000 */
  readonly maxReconcileChecks?: number;
  /** Where the previous run's reconciler stopped (its report's `reconcileFrom`). @default - the beginning */
  readonly reconcileFrom?: ReconcilePosition;
  /** Time left in this invocation; the sweep stops paging when it drops below `reserveMs`. @default unbounded */
  readonly remainingMs?: () => number;
  /** @default 15 s */
  readonly reserveMs?: number;
}

/** A place in the reconciler's walk: the status being listed and the position after the last request read. */
export interface ReconcilePosition {
  readonly status: Status;
  readonly cursor: string;
}

export interface SweepReport {
  readonly scanned: number;
  readonly expired: number;
  readonly started: number;
  /** Pending requests whose approvers the sweeper told because Notify had not. */
  readonly renotified: number;
  /** Decided requests whose waiting execution the reconciler resumed. */
  readonly resumed: number;
  readonly failed: number;
  /** False when the sweep ran out of time (or reconcile checks) before the last page; the next run continues. */
  readonly complete: boolean;
  /** Where the next run's reconciler should start, when this one stopped at its bound. */
  readonly reconcileFrom?: ReconcilePosition;
}

/** The statuses a request leaves `pending` for while its execution may be waiting (`denied` never waits). */
const DECIDED: readonly Status[] = ['approved', 'rejected', 'cancelled', 'expired'];
/** Longest approval timeout the policy schema allows (functions/policy/schema.ts), plus an hour. */
const LONGEST_WAIT_MS = (7 * 24 + 1) * 60 * 60 * 1000;
/** Before every real request id (`ar_` + ULID): a cursor position that starts a listing at a time. */
const FIRST_ID = `ar_${'0'.repeat(26)}`;

export async function sweepPendingRequests(
  deps: SweepDependencies,
  options: SweepOptions = {},
): Promise<SweepReport> {
  const { service, store, tokens, workflow, clock, logger } = deps;
  const expireGraceMs = options.expireGraceMs ?? 30_000;
  const startGraceMs = options.startGraceMs ?? 60_000;
  const reserveMs = options.reserveMs ?? 15_000;
  const remaining = options.remainingMs ?? (() => Number.POSITIVE_INFINITY);
  const counts = { scanned: 0, expired: 0, started: 0, renotified: 0, resumed: 0, failed: 0 };
  const outOfTime = () => {
    if (remaining() >= reserveMs) return false;
    logger.warn('sweep stopped early to finish in time; the next run continues', { ...counts });
    return true;
  };
  let cursor: string | undefined;
  do {
    if (outOfTime()) return { ...counts, complete: false };
    const page = await store.listByStatus('pending', { limit: 100, ...(cursor ? { cursor } : {}) });
    for (const request of page.items) {
      counts.scanned++;
      const now = clock.now().getTime();
      const deadline = request.approval ? Date.parse(request.approval.expiresAt) : now;
      try {
        if (now >= deadline + expireGraceMs) {
          const after = await service.expire(request.id, { why: 'deadline passed; expired by the sweeper' });
          if (after.status === 'expired') {
            counts.expired++;
            logger.warn('sweeper expired a request its execution did not', {
              requestId: request.id,
              repaired: true,
            });
          }
        } else if (now - Date.parse(request.createdAt) >= startGraceMs && !(await tokens.get(request.id))) {
          if (await workflow.startIfMissing(request)) {
            counts.started++;
            logger.warn('sweeper started the execution of a request that had none waiting', {
              requestId: request.id,
              repaired: true,
            });
          } else {
            counts.renotified += await notifyInPlaceOfWorkflow(deps, request);
          }
        }
      } catch (error) {
        counts.failed++;
        logger.error('sweeper could not handle a pending request; the next run retries', {
          requestId: request.id,
          error,
        });
      }
    }
    cursor = page.cursor;
  } while (cursor);

  const stoppedAt = await reconcileDecided(deps, options, counts, outOfTime);
  return stoppedAt === undefined
    ? { ...counts, complete: true }
    : { ...counts, complete: false, ...(stoppedAt === 'time' ? {} : { reconcileFrom: stoppedAt }) };
}

/**
 * The execution exists but Notify never stored its token: it is retrying (throttled) or failed for
 * good and waits for the deadline. Approvers are told now; the dispatcher skips every channel a
 * card went out on already, so nothing is logged (or posted) twice.
 */
async function notifyInPlaceOfWorkflow(deps: SweepDependencies, request: ActionRequest): Promise<number> {
  if (!deps.notifications) return 0;
  const stage: NotificationStage = request.approval?.escalated ? 'escalate' : 'notify';
  const told = await deps.notifications.notify(request.id, stage);
  if (told === 0) return 0;
  deps.logger.warn(
    'sweeper told the approvers in place of the approval workflow, which has not (fail closed, not silent)',
    { requestId: request.id, stage, channels: told, failClosed: true, repaired: true },
  );
  return 1;
}

/**
 * Decided requests created recently enough to still have a waiting execution (deadline not yet
 * past): a stored, unsettled token means the decision's SendTaskSuccess may never have arrived.
 * Resuming is idempotent (a task that is over refuses it), and the token is settled either way.
 * Returns where it stopped when it reached its bound (the next run starts there, so no request
 * is starved behind the first thousand), 'time' when it ran out of time, else undefined.
 */
async function reconcileDecided(
  deps: SweepDependencies,
  options: SweepOptions,
  counts: { resumed: number; failed: number },
  outOfTime: () => boolean,
): Promise<ReconcilePosition | 'time' | undefined> {
  const { store, tokens, clock, logger } = deps;
  const resumeGraceMs = options.resumeGraceMs ?? 60_000;
  let checks = options.maxReconcileChecks ?? 1000;
  const now = clock.now();
  const since = new Date(now.getTime() - LONGEST_WAIT_MS).toISOString();
  const from = options.reconcileFrom;
  const first = from ? Math.max(0, DECIDED.indexOf(from.status)) : 0;
  for (const status of DECIDED.slice(first)) {
    let cursor: string | undefined =
      from?.status === status ? from.cursor : cursorAfter({ createdAt: since, id: FIRST_ID });
    do {
      if (outOfTime()) return 'time';
      const page = await store.listByStatus(status, { limit: 100, cursor });
      let previous: ActionRequest | undefined;
      for (const request of page.items) {
        const deadline = request.approval ? Date.parse(request.approval.expiresAt) : 0;
        const due =
          deadline > now.getTime() && now.getTime() - Date.parse(request.updatedAt) >= resumeGraceMs;
        // Past the deadline every waiting task has timed out: nothing is left to resume.
        if (!due) {
          previous = request;
          continue;
        }
        if (checks-- <= 0) {
          logger.warn('reconciler reached its checks for this run; the next run continues', {
            ...counts,
          });
          return { status, cursor: previous ? cursorAfter(previous) : (cursor ?? '') };
        }
        previous = request;
        try {
          const token = await tokens.get(request.id);
          if (!token || token.settledAt !== undefined) continue;
          await resumeOnce(deps, request, token, counts);
        } catch (error) {
          counts.failed++;
          logger.error('reconciler could not resume a decided request; the next run retries', {
            requestId: request.id,
            error,
          });
        }
      }
      cursor = page.cursor;
    } while (cursor);
  }
  return undefined;
}

async function resumeOnce(
  deps: SweepDependencies,
  request: ActionRequest,
  token: StoredTaskToken,
  counts: { resumed: number },
): Promise<void> {
  const resumed = await deps.workflow.resume(request, token.taskToken);
  await deps.tokens.settle(token, deps.clock.now(), tokenKeepUntil(request, deps.clock));
  if (!resumed) return;
  counts.resumed++;
  deps.logger.warn('reconciler resumed an approval execution its decision had not reached', {
    requestId: request.id,
    status: request.status,
    stage: token.stage,
    repaired: true,
  });
}
