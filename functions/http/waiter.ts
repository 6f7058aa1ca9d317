/** Long-poll support: answer as soon as a request's status changes, without a tight polling loop. */
import type { ActionRequest } from '../core/model.ts';
import type { Transition } from '../core/ports/store.port.ts';

/**
 * Change notifications (local mode): the service's onCommit publishes here, and with several
 * processes a commit made by another one arrives as `wake(requestId)` (functions/local/cluster.ts).
 */
export class ChangeHub {
  readonly #listeners = new Map<string, Set<() => void>>();

  publish = (transition: Transition): void => {
    this.wake(transition.request.id);
  };

  /** Wakes the waiters of one request; they re-read it, so a wake for no change costs one read. */
  wake(requestId: string): void {
    const listeners = this.#listeners.get(requestId);
    if (listeners) for (const listener of [...listeners]) listener();
  }

  subscribe(requestId: string, listener: () => void): () => void {
    let set = this.#listeners.get(requestId);
    if (!set) {
      set = new Set();
      this.#listeners.set(requestId, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.#listeners.delete(requestId);
    };
  }
}

export interface WaitOptions {
  readonly timeoutMs: number;
  /** Local mode: wake on commits. Without it (Lambda) the store is polled with backoff. */
  readonly hub?: ChangeHub;
  readonly signal?: AbortSignal;
}

/**
 * Resolves with the request once its status differs from `initial.status`, or with the latest
 * state when the time is up. Subscribes before re-reading, so no change can slip between.
 */
export async function waitForStatusChange(
  initial: ActionRequest,
  load: () => Promise<ActionRequest>,
  options: WaitOptions,
): Promise<ActionRequest> {
  if (options.timeoutMs <= 0 || initial.status !== 'pending') return initial;
  const deadline = Date.now() + options.timeoutMs;
  let wake: (() => void) | undefined;
  const unsubscribe = options.hub?.subscribe(initial.id, () => wake?.());
  // One abort listener for the whole wait (not one per poll, which would pile up).
  const onAbort = () => wake?.();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    let current = initial;
    // With a hub, a slow backstop poll covers commits made by another process on the same store.
    let pollMs = options.hub ? 5_000 : 250;
    while (current.status === initial.status) {
      const remaining = deadline - Date.now();
      if (remaining <= 0 || options.signal?.aborted) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(pollMs, remaining));
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
      current = await load();
      if (!options.hub) pollMs = Math.min(pollMs * 2, 2_000);
    }
    return current;
  } finally {
    unsubscribe?.();
    options.signal?.removeEventListener('abort', onAbort);
  }
}
