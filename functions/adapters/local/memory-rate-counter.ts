/**
 * RateCounter in process memory, for a local gateway that is the only process serving its data
 * folder (`workers: 1`): there is nobody to share the counts with, so they need no database. Each
 * increment is exact and answers in the same turn (no write, no transaction per call).
 *
 * Only for a sole process: the gateway holds the data folder's counter lock (functions/adapters/sqlite/limits-lock.ts)
 * while it counts here, so no other gateway counts the same principals at the same time. The
 * counts are lost when the process ends: a restart forgives what was counted in the current
 * window (at most one window's calls).
 */
import type { RateCounter } from '../../core/ports/counter.port.ts';

interface Slot {
  count: number;
  readonly expiresAt: number;
}

/** Ended windows are dropped after this many increments, so memory holds about one window per key. */
const PRUNE_EVERY = 1_000;

export class MemoryRateCounter implements RateCounter {
  readonly #slots = new Map<string, Slot>();
  #sincePrune = 0;

  increment(key: string, windowStart: number, expiresAt: number): Promise<number> {
    if (++this.#sincePrune >= PRUNE_EVERY) {
      this.#sincePrune = 0;
      this.#prune(windowStart);
    }
    // The window first: its digits end at the first newline, whatever the key holds.
    const id = `${windowStart}\n${key}`;
    const slot = this.#slots.get(id);
    if (slot) {
      slot.count += 1;
      return Promise.resolve(slot.count);
    }
    this.#slots.set(id, { count: 1, expiresAt });
    return Promise.resolve(1);
  }

  /** How many key-and-window counts are held (for tests: ended windows are dropped). */
  get size(): number {
    return this.#slots.size;
  }

  close(): void {
    this.#slots.clear();
  }

  /** Drops the counts that may be removed (`expiresAt` before `now`), as the SQLite counter does. */
  #prune(now: number): void {
    for (const [id, slot] of this.#slots) if (slot.expiresAt < now) this.#slots.delete(id);
  }
}
