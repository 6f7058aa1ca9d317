/**
 * The backstop behind the state machine: pages through pending requests and
 * - expires those past their deadline (an execution that never started, failed, or was stopped);
 * - starts the execution of those that have none yet (no task token stored a minute after submit),
 *   which is a no-op when it exists: executions are named after the request.
 * Both are idempotent, and a sweep that races the state machine loses harmlessly.
 */
import type { TaskTokenStore } from '../adapters/aws/task-token-store.ts';
import type { Clock } from '../core/ports/clock.port.ts';
import type { RequestStore } from '../core/ports/store.port.ts';
import type { ApprovalWorkflow } from '../core/ports/workflow.port.ts';
import type { ApprovalService } from '../core/service.ts';
import type { Logger } from '../observability/logger.ts';

export interface SweepDependencies {
  readonly service: ApprovalService;
  readonly store: RequestStore;
  readonly tokens: TaskTokenStore;
  readonly workflow: ApprovalWorkflow;
  readonly clock: Clock;
  readonly logger: Logger;
}

export interface SweepOptions {
  /** How long past its deadline a request may stay pending before the sweeper expires it. @default 30 s */
  readonly expireGraceMs?: number;
  /** How old a pending request without a task token must be before its execution is (re)started. @default 60 s */
  readonly startGraceMs?: number;
  /** Time left in this invocation; the sweep stops paging when it drops below `reserveMs`. @default unbounded */
  readonly remainingMs?: () => number;
  /** @default 15 s */
  readonly reserveMs?: number;
}

export interface SweepReport {
  readonly scanned: number;
  readonly expired: number;
  readonly started: number;
  readonly failed: number;
  /** False when the sweep ran out of time before the last page; the next run continues. */
  readonly complete: boolean;
}

export async function sweepPendingRequests(
  deps: SweepDependencies,
  options: SweepOptions = {},
): Promise<SweepReport> {
  const { service, store, tokens, workflow, clock, logger } = deps;
  const expireGraceMs = options.expireGraceMs ?? 30_000;
  const startGraceMs = options.startGraceMs ?? 60_000;
  const reserveMs = options.reserveMs ?? 15_000;
  const remaining = options.remainingMs ?? (() => Number.POSITIVE_INFINITY);
  let scanned = 0;
  let expired = 0;
  let started = 0;
  let failed = 0;
  let cursor: string | undefined;
  do {
    if (remaining() < reserveMs) {
      logger.warn('sweep stopped early to finish in time; the next run continues', { scanned });
      return { scanned, expired, started, failed, complete: false };
    }
    const page = await store.listByStatus('pending', { limit: 100, ...(cursor ? { cursor } : {}) });
    for (const request of page.items) {
      scanned++;
      const now = clock.now().getTime();
      const deadline = request.approval ? Date.parse(request.approval.expiresAt) : now;
      try {
        if (now >= deadline + expireGraceMs) {
          const after = await service.expire(request.id, { why: 'deadline passed; expired by the sweeper' });
          if (after.status === 'expired') {
            expired++;
            logger.warn('sweeper expired a request its execution did not', { requestId: request.id });
          }
        } else if (now - Date.parse(request.createdAt) >= startGraceMs && !(await tokens.get(request.id))) {
          await workflow.start(request);
          started++;
          logger.warn('sweeper started the execution of a request that had none waiting', {
            requestId: request.id,
          });
        }
      } catch (error) {
        failed++;
        logger.error('sweeper could not handle a pending request; the next run retries', {
          requestId: request.id,
          error,
        });
      }
    }
    cursor = page.cursor;
  } while (cursor);
  return { scanned, expired, started, failed, complete: true };
}
