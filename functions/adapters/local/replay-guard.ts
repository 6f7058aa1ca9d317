/**
 * Signed callbacks seen within their window, in one process (the local gateway is one). Entries
 * are dropped once their window has passed. A restart forgets them: a request captured in the
 * five minutes before a restart could be replayed once after it, which is why the AWS deployment
 * (many instances, public URL) uses the DynamoDB guard instead.
 */
import type { ReplayGuard } from '../../core/ports/replay.port.ts';

export class MemoryReplayGuard implements ReplayGuard {
  readonly #seen = new Map<string, number>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  async firstSeen(key: string, until: Date): Promise<boolean> {
    const now = this.#now();
    if (this.#seen.size > 1000) {
      for (const [seen, expires] of this.#seen) if (expires <= now) this.#seen.delete(seen);
    }
    const expires = this.#seen.get(key);
    if (expires !== undefined && expires > now) return false;
    this.#seen.set(key, until.getTime());
    return true;
  }
}
