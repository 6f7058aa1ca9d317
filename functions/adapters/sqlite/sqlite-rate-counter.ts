/**
 * RateCounter on SQLite for local mode, in a file of its own: counters are written on every call,
 * so they are kept apart from the request store's durable writes (no fsync per call, no competing
 * for its write lock). Losing the last counts in a crash only forgives a few calls.
 */
import { chmodSync, closeSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import { StoreUnavailableError } from '../../core/errors.ts';
import type { RateCounter } from '../../core/ports/counter.port.ts';

export interface SqliteRateCounterOptions {
  /** File path, or `:memory:`. Created owner-only. */
  readonly path: string;
  /** How long an increment waits, asynchronously, for another process's lock. @default 1000 */
  readonly busyTimeoutMs?: number;
}

export class SqliteRateCounter implements RateCounter {
  readonly #db: Database.Database;
  readonly #increment: Database.Statement<[string, number, number], { count: number }>;
  readonly #prune: Database.Statement<[number]>;
  readonly #busyTimeoutMs: number;
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
    this.#increment = this.#db.prepare(
      `INSERT INTO rate_counters (key, window_start, count, expires_at) VALUES (?, ?, 1, ?)
       ON CONFLICT (key, window_start) DO UPDATE SET count = count + 1 RETURNING count`,
    );
    this.#prune = this.#db.prepare('DELETE FROM rate_counters WHERE expires_at < ?');
  }

  async increment(key: string, windowStart: number, expiresAt: number): Promise<number> {
    const since = Date.now();
    for (let attempt = 1; ; attempt++) {
      try {
        // Ended windows are removed now and then, so the table holds about one window per key.
        if (++this.#sincePrune >= 1000) {
          this.#sincePrune = 0;
          this.#prune.run(windowStart);
        }
        const row = this.#increment.get(key, windowStart, expiresAt);
        return row?.count ?? 1;
      } catch (error) {
        const busy = error instanceof Database.SqliteError && /^SQLITE_(BUSY|LOCKED)/.test(error.code);
        if (!busy || Date.now() - since >= this.#busyTimeoutMs) {
          throw new StoreUnavailableError('the local rate-limit counters are unavailable; retry shortly', {
            cause: error,
          });
        }
        await new Promise((resolve) => setTimeout(resolve, Math.min(50, 2 ** attempt)));
      }
    }
  }

  close(): void {
    this.#db.close();
  }
}
