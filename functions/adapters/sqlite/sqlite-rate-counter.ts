/**
 * RateCounter on SQLite for local mode, in a file of its own: counters are written on every call,
 * so they are kept apart from the request store's durable writes (no fsync per call, no competing
 * for its write lock). Losing the last counts in a crash only forgives a few calls.
 *
 * Increments that arrive while the event loop is busy are written together: one transaction per
 * turn of the loop, one `count = count + n` per key and window, and each caller is told the count
 * it would have got had the increments run one after the other in the order they arrived. So the
 * counts stay exact (the n callers of a batch see total − n + 1 … total), across processes too
 * (the addition is atomic under SQLite's write lock), for one write per turn instead of per call.
 */
import { chmodSync, closeSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import { StoreUnavailableError } from '../../core/errors.ts';
import type { RateCounter } from '../../core/ports/counter.port.ts';
import { FlushScheduler } from './flush-scheduler.ts';

export interface SqliteRateCounterOptions {
  /** File path, or `:memory:`. Created owner-only. */
  readonly path: string;
  /** How long an increment waits, asynchronously, for another process's lock. @default 1000 */
  readonly busyTimeoutMs?: number;
}

/** The increments of one key in one window waiting for the next write, in arrival order. */
interface PendingIncrements {
  readonly key: string;
  readonly windowStart: number;
  readonly expiresAt: number;
  readonly waiters: { resolve: (count: number) => void; reject: (error: unknown) => void }[];
  /** When the first of them asked: their wait for a lock ends busyTimeoutMs after this. */
  readonly since: number;
  attempt: number;
}

export class SqliteRateCounter implements RateCounter {
  readonly #db: Database.Database;
  readonly #add: Database.Statement<[string, number, number, number], { count: number }>;
  readonly #prune: Database.Statement<[number]>;
  readonly #write: Database.Transaction<(batch: readonly PendingIncrements[]) => number[]>;
  readonly #busyTimeoutMs: number;
  readonly #pending = new Map<string, PendingIncrements>();
  readonly #flushes = new FlushScheduler(() => this.#flush());
  #sincePrune = 0;

  constructor(options: SqliteRateCounterOptions) {
    if (options.path !== ':memory:') {
      closeSync(openSync(options.path, 'a', 0o600));
      chmodSync(options.path, 0o600);
    }
    this.#db = new Database(options.path);
    this.#busyTimeoutMs = options.busyTimeoutMs ?? 1000;
    this.#db.pragma('busy_timeout = 0');
    if (options.path !== ':memory:') this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = OFF');
    this.#db.exec(`CREATE TABLE IF NOT EXISTS rate_counters (
      key TEXT NOT NULL,
      window_start INTEGER NOT NULL,
      count INTEGER NOT NULL,
      expires_at INTEGER NOT NULL,
      PRIMARY KEY (key, window_start)
    ) STRICT`);
    this.#add = this.#db.prepare(
      `INSERT INTO rate_counters (key, window_start, count, expires_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (key, window_start) DO UPDATE SET count = count + excluded.count RETURNING count`,
    );
    this.#prune = this.#db.prepare('DELETE FROM rate_counters WHERE expires_at < ?');
    this.#write = this.#db.transaction((batch: readonly PendingIncrements[]) => {
      const first = batch[0];
      // Ended windows are removed now and then, so the table holds about one window per key.
      if (first && this.#sincePrune >= 1000) {
        this.#sincePrune = 0;
        this.#prune.run(first.windowStart);
      }
      return batch.map(
        (item) =>
          this.#add.get(item.key, item.windowStart, item.waiters.length, item.expiresAt)?.count ??
          item.waiters.length,
      );
    });
  }

  increment(key: string, windowStart: number, expiresAt: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const slot = `${windowStart}\n${key}`;
      let pending = this.#pending.get(slot);
      if (!pending) {
        pending = { key, windowStart, expiresAt, waiters: [], since: Date.now(), attempt: 0 };
        this.#pending.set(slot, pending);
      }
      pending.waiters.push({ resolve, reject });
      this.#flushes.schedule();
    });
  }

  close(): void {
    this.#db.close();
  }

  #flush(): void {
    const batch = [...this.#pending.values()];
    this.#pending.clear();
    if (batch.length === 0) return;
    let totals: number[];
    try {
      totals = this.#write.immediate(batch);
    } catch (error) {
      // Nothing of the batch was written. Locked by another process: try again later (without
      // blocking) until each caller's deadline; anything else fails now.
      this.#failed(batch, error);
      return;
    }
    batch.forEach((item, i) => {
      const total = totals[i] ?? item.waiters.length;
      const before = total - item.waiters.length;
      this.#sincePrune += item.waiters.length;
      item.waiters.forEach((waiter, n) => {
        waiter.resolve(before + n + 1);
      });
    });
  }

  #failed(batch: readonly PendingIncrements[], error: unknown): void {
    const busy = error instanceof Database.SqliteError && /^SQLITE_(BUSY|LOCKED)/.test(error.code);
    const now = Date.now();
    let attempt = 0;
    for (const item of batch) {
      if (!busy || now - item.since >= this.#busyTimeoutMs) {
        const unavailable = new StoreUnavailableError(
          'the local rate-limit counters are unavailable; retry shortly',
          { cause: error },
        );
        for (const waiter of item.waiters) waiter.reject(unavailable);
        continue;
      }
      item.attempt += 1;
      attempt = Math.max(attempt, item.attempt);
      // Earlier callers keep their place ahead of any that asked since.
      const slot = `${item.windowStart}\n${item.key}`;
      const later = this.#pending.get(slot);
      if (later) item.waiters.push(...later.waiters);
      this.#pending.set(slot, item);
    }
    if (attempt > 0) {
      this.#flushes.schedule(Math.min(50, 2 ** attempt));
    }
  }
}
