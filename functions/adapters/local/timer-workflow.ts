/**
 * Local approval workflow: in-process timers for escalation and expiry. Nothing extra is persisted:
 * each pending request already stores its `escalateAt` and `expiresAt`, so on start the timers are
 * rebuilt from the store and overdue ones fire at once — a pending approval survives a restart.
 */
import { NotDueError } from '../../core/errors.ts';
import type { ActionRequest } from '../../core/model.ts';
import type { RequestStore } from '../../core/ports/store.port.ts';
import type { ApprovalWorkflow } from '../../core/ports/workflow.port.ts';
import type { Logger } from '../../observability/logger.ts';

type TimerKind = 'escalate' | 'expire';

/** What a timer does when due: the service's escalate/expire (no-ops once decided). */
export interface TimerTarget {
  escalate(requestId: string): Promise<ActionRequest>;
  expire(requestId: string): Promise<ActionRequest>;
}

/** setTimeout's ceiling (~24.8 days); longer waits re-arm. */
const MAX_DELAY_MS = 2 ** 31 - 1;
const RETRY_MS = [250, 1_000, 5_000, 30_000];

export class LocalTimerWorkflow implements ApprovalWorkflow {
  readonly #timers = new Map<string, NodeJS.Timeout>();
  readonly #logger: Logger;
  readonly #now: () => number;
  #target: TimerTarget | undefined;
  #stopped = false;

  constructor(options: { logger: Logger; now?: () => number }) {
    this.#logger = options.logger;
    this.#now = options.now ?? Date.now;
  }

  /** Connects the timers to the service (which itself needs this workflow, hence the late binding). */
  attach(target: TimerTarget): void {
    this.#target = target;
  }

  async start(request: ActionRequest): Promise<void> {
    this.#schedule(request);
  }

  async decided(request: ActionRequest): Promise<void> {
    this.#clear(request.id);
  }

  /** Re-arms the timers of every pending request in the store; returns how many. */
  async recover(store: RequestStore): Promise<number> {
    let count = 0;
    let cursor: string | undefined;
    do {
      const page = await store.listByStatus('pending', { limit: 500, ...(cursor ? { cursor } : {}) });
      for (const request of page.items) {
        this.#schedule(request);
        count++;
      }
      cursor = page.cursor;
    } while (cursor);
    return count;
  }

  /** Pending timers, for tests and shutdown logs. */
  get armed(): number {
    return this.#timers.size;
  }

  /** Whether a timer is armed for this request (tests wait on it instead of sleeping). */
  isWaiting(requestId: string): boolean {
    return this.#timers.has(`${requestId}:escalate`) || this.#timers.has(`${requestId}:expire`);
  }

  stop(): void {
    this.#stopped = true;
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
  }

  #schedule(request: ActionRequest): void {
    const approval = request.approval;
    if (request.status !== 'pending' || !approval) return;
    if (approval.escalateAt && !approval.escalated) {
      this.#arm(request.id, 'escalate', Date.parse(approval.escalateAt));
    }
    this.#arm(request.id, 'expire', Date.parse(approval.expiresAt));
  }

  #arm(requestId: string, kind: TimerKind, dueAt: number, attempt = 0): void {
    if (this.#stopped) return;
    const key = `${requestId}:${kind}`;
    const existing = this.#timers.get(key);
    if (existing) clearTimeout(existing);
    const delay = Math.max(0, Math.min(dueAt - this.#now(), MAX_DELAY_MS));
    const timer = setTimeout(() => {
      this.#timers.delete(key);
      if (dueAt - this.#now() > 0 && delay === MAX_DELAY_MS) {
        this.#arm(requestId, kind, dueAt);
        return;
      }
      void this.#fire(requestId, kind, dueAt, attempt);
    }, delay);
    // Timers must not keep a stopping process alive.
    timer.unref();
    this.#timers.set(key, timer);
  }

  async #fire(requestId: string, kind: TimerKind, dueAt: number, attempt: number): Promise<void> {
    const target = this.#target;
    if (!target || this.#stopped) return;
    try {
      const request = kind === 'escalate' ? await target.escalate(requestId) : await target.expire(requestId);
      // Debug: what the timer changed is logged once, as a lifecycle event (request escalated/expired).
      this.#logger.debug(`timer ${kind} fired`, { requestId, status: request.status });
      if (request.status !== 'pending') this.#clear(requestId);
    } catch (error) {
      if (error instanceof NotDueError) {
        this.#arm(requestId, kind, dueAt);
        return;
      }
      const retryIn = RETRY_MS[Math.min(attempt, RETRY_MS.length - 1)] ?? 30_000;
      this.#logger.warn(`timer ${kind} failed; retrying`, { requestId, retryInMs: retryIn, error });
      this.#arm(requestId, kind, this.#now() + retryIn, attempt + 1);
    }
  }

  #clear(requestId: string): void {
    for (const kind of ['escalate', 'expire'] as const) {
      const key = `${requestId}:${kind}`;
      const timer = this.#timers.get(key);
      if (timer) clearTimeout(timer);
      this.#timers.delete(key);
    }
  }
}
