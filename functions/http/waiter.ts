/** Long-poll support: answer as soon as a request's status changes, without a tight polling loop. */
import type { ActionRequest } from '../core/model.ts';
import type { Transition } from '../core/ports/store.port.ts';

/**
 * Change notifications (local mode): the service's onCommit publishes here, and with several
 * processes a commit made by another one arrives as `wake(requestId)` (functions/local/cluster.ts).
 */
export class ChangeHub {
  readonly #listeners = new Map<string, Set<(reads: SharedReads) => void>>();

  publish = (transition: Transition): void => {
    this.wake(transition.request.id);
  };

  /**
   * Wakes the waiters of one request; they re-read it, so a wake for no change costs one read. The
   * waiters of one wake share their reads (one per share key): every such read starts after the
   * wake, so it sees the commit that caused it; a later wake brings a fresh set.
   */
  wake(requestId: string): void {
    const listeners = this.#listeners.get(requestId);
    if (!listeners) return;
    const reads: SharedReads = new Map();
    for (const listener of [...listeners]) listener(reads);
  }

  subscribe(requestId: string, listener: (reads: SharedReads) => void): () => void {
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

/** The reads made for one wake of one request, by share key (the reader, whose access they checked). */
export type SharedReads = Map<string, Promise<ActionRequest>>;

export interface WaitOptions {
  readonly timeoutMs: number;
  /** Local mode: wake on commits. Without it (Lambda) the store is polled with backoff. */
  readonly hub?: ChangeHub;
  /**
   * Waiters woken by the same commit with the same key share one `load` (e.g. the 100 long-polls of
   * one agent on one request); without a key every waiter reads for itself.
   */
  readonly shareKey?: string;
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
  // The reads of the last wake not yet acted on: a wake that lands during a read is kept, so the
  // next round reads again at once instead of sleeping until the backstop poll.
  let woken: SharedReads | undefined;
  const unsubscribe = options.hub?.subscribe(initial.id, (reads) => {
    woken = reads;
    wake?.();
  });
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
      if (!woken) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(pollMs, remaining));
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = undefined;
      }
      const reads = woken;
      woken = undefined;
      current = await (reads && options.shareKey !== undefined
        ? sharedRead(reads, options.shareKey, load)
        : load());
      if (!options.hub) pollMs = Math.min(pollMs * 2, 2_000);
    }
    return current;
  } finally {
    unsubscribe?.();
    options.signal?.removeEventListener('abort', onAbort);
  }
}

/** The read of this wake for this key: the first waiter starts it, the others await the same one. */
function sharedRead(
  reads: SharedReads,
  key: string,
  load: () => Promise<ActionRequest>,
): Promise<ActionRequest> {
  let read = reads.get(key);
  if (!read) {
    read = load();
    reads.set(key, read);
  }
  return read;
}
