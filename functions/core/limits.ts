/**
 * What one principal may ask of the gateway: calls per minute, submissions per minute, and open
 * pending requests (what approvers must wade through). The gateway's configuration sets the
 * defaults; policy data may set others, for everyone (`limits.default`) or for one principal
 * (`limits.principals["agent:…"]`), so an operator can tighten a noisy agent without a redeploy.
 * Counting is fixed windows of one minute on a shared RateCounter, so every instance sees one count.
 */
import { RateLimitedError } from './errors.ts';
import type { Directory } from './model.ts';
import type { Clock } from './ports/clock.port.ts';
import type { RateCounter } from './ports/counter.port.ts';

export interface LimitSettings {
  /** API calls per principal per minute (every route under /v1). */
  readonly callsPerMinute: number;
  /** Submissions per principal per minute (idempotent replays do not count). */
  readonly submissionsPerMinute: number;
  /** Open pending requests one requester may have; a submission that would add one more is refused. */
  readonly maxPending: number;
}

export const DEFAULT_LIMITS: LimitSettings = {
  callsPerMinute: 1200,
  submissionsPerMinute: 120,
  maxPending: 100,
};

const WINDOW_SECONDS = 60;

/** The limits of `principal`: policy data's entry for it, else its default, else the configured ones. */
export function limitsFor(principal: string, base: LimitSettings, directory: Directory): LimitSettings {
  const limits = directory.limits;
  const own =
    limits?.principals && Object.hasOwn(limits.principals, principal)
      ? limits.principals[principal]
      : undefined;
  const merged = { ...limits?.default, ...own };
  return {
    callsPerMinute: merged.calls_per_minute ?? base.callsPerMinute,
    submissionsPerMinute: merged.submissions_per_minute ?? base.submissionsPerMinute,
    maxPending: merged.max_pending ?? base.maxPending,
  };
}

export interface RateLimitsDependencies {
  readonly counter: RateCounter;
  readonly clock: Clock;
  readonly base: LimitSettings;
  readonly directory: () => Directory;
}

export class RateLimits {
  readonly #deps: RateLimitsDependencies;
  /**
   * Counters this instance saw over their limit, until their window ends: a count only grows
   * within its window, so later calls are refused without another write (a flood costs one map
   * lookup per call, not one counter write).
   */
  readonly #over = new Map<string, { windowEnd: number; limit: number }>();

  constructor(deps: RateLimitsDependencies) {
    this.#deps = deps;
  }

  limitsFor(principal: string): LimitSettings {
    return limitsFor(principal, this.#deps.base, this.#deps.directory());
  }

  /** Counts one API call; RateLimitedError (429) past the principal's calls per minute. */
  admitCall(principal: string): Promise<void> {
    return this.#admit(principal, 'calls', this.limitsFor(principal).callsPerMinute, 'API calls');
  }

  /** Counts one submission; RateLimitedError (429) past the principal's submissions per minute. */
  admitSubmission(principal: string): Promise<void> {
    return this.#admit(
      principal,
      'submissions',
      this.limitsFor(principal).submissionsPerMinute,
      'submissions',
    );
  }

  /**
   * Refuses (RateLimitedError) a submission by a principal this instance already saw over its
   * submissions per minute in the current window, without a counter write; otherwise does nothing
   * (admitSubmission still counts it). Lets the edge refuse a flood before reading its body.
   */
  refuseKnownOverSubmissions(principal: string): void {
    const limit = this.limitsFor(principal).submissionsPerMinute;
    const known = this.#over.get(`submissions:${principal}`);
    const now = this.#deps.clock.now().getTime() / 1000;
    if (known && known.windowEnd > now && known.limit === limit) {
      this.#refuse(principal, limit, 'submissions', known.windowEnd - now);
    }
  }

  async #admit(principal: string, what: string, limit: number, noun: string): Promise<void> {
    const now = this.#deps.clock.now().getTime() / 1000;
    const windowStart = Math.floor(now / WINDOW_SECONDS) * WINDOW_SECONDS;
    const key = `${what}:${principal}`;
    const known = this.#over.get(key);
    if (known && (known.windowEnd <= now || known.limit !== limit)) this.#over.delete(key);
    else if (known) this.#refuse(principal, limit, noun, known.windowEnd - now);
    const count = await this.#deps.counter.increment(key, windowStart, windowStart + 2 * WINDOW_SECONDS);
    if (count <= limit) return;
    if (this.#over.size >= 10_000) this.#over.clear();
    this.#over.set(key, { windowEnd: windowStart + WINDOW_SECONDS, limit });
    this.#refuse(principal, limit, noun, windowStart + WINDOW_SECONDS - now);
  }

  #refuse(principal: string, limit: number, noun: string, secondsLeft: number): never {
    const retryAfter = Math.max(1, Math.ceil(secondsLeft));
    throw new RateLimitedError(
      'rate_limited',
      `${principal} is over its limit of ${limit} ${noun} per minute; retry after ${retryAfter} s (Retry-After), or ask the operator for a higher limit (policy data limits.principals)`,
      retryAfter,
      { limit, per: 'minute', what: noun },
    );
  }
}
