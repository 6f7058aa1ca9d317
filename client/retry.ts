/** Retry policy: exponential backoff with full jitter, bounded, honouring `Retry-After`. */

export interface RetryOptions {
  /**
   * Retries after the first attempt.
   * @default 3
   */
  readonly retries: number;
  /**
   * Ceiling of the first backoff; it doubles per retry.
   * @default 200
   */
  readonly baseDelayMs: number;
  /**
   * Ceiling of any one backoff.
   * @default 5000
   */
  readonly maxDelayMs: number;
  /**
   * The longest `Retry-After` honoured; a longer one ends the retries and the error is thrown, with
   * `retryAfterMs` set, so the caller decides.
   * @default 30000
   */
  readonly maxRetryAfterMs: number;
}

export const DEFAULT_RETRY: RetryOptions = {
  retries: 3,
  baseDelayMs: 200,
  maxDelayMs: 5_000,
  maxRetryAfterMs: 30_000,
};

export function retryOptions(given: Partial<RetryOptions> | false | undefined): RetryOptions {
  if (given === false) return { ...DEFAULT_RETRY, retries: 0 };
  const options = { ...DEFAULT_RETRY, ...given };
  for (const [name, value] of Object.entries(options)) {
    if (!Number.isFinite(value) || value < 0) {
      throw new RangeError(`retry.${name} must be a finite number ≥ 0 (got ${value})`);
    }
  }
  return options;
}

/** Full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"): uniform in [0, cap). */
export function backoffDelay(
  retry: number,
  options: RetryOptions,
  random: () => number = Math.random,
): number {
  const cap = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** retry);
  return Math.floor(random() * cap);
}

/** `Retry-After` as milliseconds: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
