/**
 * ReplayGuard on SQLite for local mode, in a file of its own, so every process of a local gateway
 * (functions/local/cluster.ts) refuses a callback another one has already seen, and a restart
 * forgets nothing. One statement decides: it inserts the key, or takes it over only when the
 * earlier sighting's window has passed; SQLite's write lock makes racing processes take turns.
 */
import { chmodSync, closeSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import { StoreUnavailableError } from '../../core/errors.ts';
import type { ReplayGuard } from '../../core/ports/replay.port.ts';

export interface SqliteReplayGuardOptions {
  /** File path, or `:memory:`. Created owner-only. */
  readonly path: string;
  /** How long a call waits, asynchronously, for another process's lock. @default 1000 */
  readonly busyTimeoutMs?: number;
  readonly now?: () => number;
}

export class SqliteReplayGuard implements ReplayGuard {
  readonly #db: Database.Database;
  readonly #record: Database.Statement<[string, number, number]>;
  readonly #prune: Database.Statement<[number]>;
  readonly #busyTimeoutMs: number;
  readonly #now: () => number;
  #sincePrune = 0;

  constructor(options: SqliteReplayGuardOptions) {
    if (options.path !== ':memory:') {
      closeSync(openSync(options.path, 'a', 0o600));
      chmodSync(options.path, 0o600);
    }
    this.#db = new Database(options.path);
    this.#busyTimeoutMs = options.busyTimeoutMs ?? 1000;
    this.#now = options.now ?? Date.now;
    // Never wait inside SQLite: better-sqlite3 is synchronous, so that wait would stall every call.
    this.#db.pragma('busy_timeout = 0');
    if (options.path !== ':memory:') this.#db.pragma('journal_mode = WAL');
    // A process crash loses nothing (the WAL is written at commit); only a power cut could.
    this.#db.pragma('synchronous = NORMAL');
    this.#db.exec(`CREATE TABLE IF NOT EXISTS replay_seen (
      key TEXT PRIMARY KEY,
      expires_at INTEGER NOT NULL
    ) STRICT`);
    this.#record = this.#db.prepare(
      `INSERT INTO replay_seen (key, expires_at) VALUES (?, ?)
       ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at WHERE replay_seen.expires_at <= ?`,
    );
    this.#prune = this.#db.prepare('DELETE FROM replay_seen WHERE expires_at <= ?');
  }

  async firstSeen(key: string, until: Date): Promise<boolean> {
    const since = Date.now();
    for (let attempt = 1; ; attempt++) {
      try {
        const now = this.#now();
        // Passed windows are removed now and then, so the table holds about one window of keys.
        if (++this.#sincePrune >= 1000) {
          this.#sincePrune = 0;
          this.#prune.run(now);
        }
        return this.#record.run(key, until.getTime(), now).changes === 1;
      } catch (error) {
        const busy = error instanceof Database.SqliteError && /^SQLITE_(BUSY|LOCKED)/.test(error.code);
        if (!busy || Date.now() - since >= this.#busyTimeoutMs) {
          throw new StoreUnavailableError('the local replay guard is unavailable; retry shortly', {
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
