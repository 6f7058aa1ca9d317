/**
 * Who counts the rate limits of a data folder: a lock on a file beside `limits.db`, held for as
 * long as a gateway process runs.
 *
 * - `sole`: one process counts in memory (the default single-process gateway); nobody else may
 *   count the same principals meanwhile, neither another gateway nor a worker of a cluster.
 * - `shared`: processes that count together in `limits.db` (the workers of a cluster, or a
 *   gateway started beside them); any number of them, but not while a sole holder runs.
 *
 * It is SQLite's own file locking (a rollback-journal database in exclusive locking mode: a read
 * keeps a shared lock, a write an exclusive one, until the connection closes), so the operating
 * system releases it when the process ends, however it ends: no stale lock after a crash.
 */
import { chmodSync, closeSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';

export type LimitsLockMode = 'sole' | 'shared';

export interface LimitsLock {
  readonly mode: LimitsLockMode;
  release(): void;
}

/** Another process holds the lock in a way that excludes this claim. */
export class LimitsLockHeldError extends Error {
  override name = 'LimitsLockHeldError';
}

/** Takes the lock at `path` (created owner-only) or throws LimitsLockHeldError; never waits. */
export function claimLimitsLock(path: string, mode: LimitsLockMode): LimitsLock {
  closeSync(openSync(path, 'a', 0o600));
  chmodSync(path, 0o600);
  const db = new Database(path);
  try {
    db.pragma('busy_timeout = 0');
    db.pragma('locking_mode = EXCLUSIVE');
    db.pragma('journal_mode = DELETE');
    if (mode === 'sole') {
      // A write: the exclusive lock it takes is kept until the connection closes.
      db.transaction(() => {
        db.exec('CREATE TABLE IF NOT EXISTS holder (pid INTEGER NOT NULL) STRICT; DELETE FROM holder');
        db.prepare('INSERT INTO holder (pid) VALUES (?)').run(process.pid);
      }).immediate();
    } else {
      // A read, never a write (that would exclude the other sharers): the shared lock it takes is
      // kept, and keeps a sole holder from writing.
      db.prepare('SELECT count(*) FROM sqlite_master').get();
    }
  } catch (error) {
    db.close();
    if (error instanceof Database.SqliteError && /^SQLITE_(BUSY|LOCKED)/.test(error.code)) {
      throw new LimitsLockHeldError(`the ${mode} limits lock ${path} is held by another process`, {
        cause: error,
      });
    }
    throw error;
  }
  let released = false;
  return {
    mode,
    release: () => {
      if (released) return;
      released = true;
      db.close();
    },
  };
}
