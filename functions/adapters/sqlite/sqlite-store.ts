/**
 * RequestStore on SQLite (better-sqlite3) for local mode. Every transition is written in one
 * transaction (with those that arrive beside it, each in its own savepoint); triggers make audit
 * rows append-only, so not even a bug in this file can rewrite history. A database file is
 * written by a worker thread with its own connection (sqlite-writer.ts), so no statement or fsync
 * of a commit runs on the event loop; this thread's connection reads.
 */
import { chmodSync, closeSync, openSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { listedGroups, viewerKeys } from '../../core/eligibility.ts';
import {
  IdempotencyKeyTakenError,
  PendingCapReachedError,
  StaleStateError,
  StoreUnavailableError,
} from '../../core/errors.ts';
import type { ActionRequest, AuditEvent, Status } from '../../core/model.ts';
import { cursorAfter, mergeRuns, pageLimit, readCursor } from '../../core/paging.ts';
import type {
  IdempotencyRecord,
  ListByStatusOptions,
  ListPendingOptions,
  ListVisibleOptions,
  Page,
  RequestStore,
  Transition,
} from '../../core/ports/store.port.ts';
import { FlushScheduler } from './flush-scheduler.ts';
import {
  failureOf,
  type Outcome,
  type Step,
  ThreadWriter,
  WriterStoppedError,
  writerOf,
} from './sqlite-writer.ts';

const SCHEMA_VERSION = 4;

const MIGRATIONS: Record<number, string> = {
  1: `
    CREATE TABLE requests (
      id TEXT PRIMARY KEY,
      version INTEGER NOT NULL,
      status TEXT NOT NULL,
      created_at TEXT NOT NULL,
      body TEXT NOT NULL
    ) STRICT;
    CREATE INDEX requests_by_status ON requests (status, created_at, id);
    CREATE TABLE audit_events (
      request_id TEXT NOT NULL,
      seq INTEGER NOT NULL,
      type TEXT NOT NULL,
      time TEXT NOT NULL,
      hash TEXT NOT NULL,
      body TEXT NOT NULL,
      PRIMARY KEY (request_id, seq)
    ) STRICT;
    CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
      BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
    CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
      BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
    CREATE TABLE idempotency_keys (
      requester TEXT NOT NULL,
      key TEXT NOT NULL,
      request_id TEXT NOT NULL,
      body_hash TEXT NOT NULL,
      created_at TEXT NOT NULL,
      PRIMARY KEY (requester, key)
    ) STRICT;
  `,
  // Who asked, as a column: the pending cap counts one requester's pending requests by index.
  2: `
    ALTER TABLE requests ADD COLUMN requester TEXT NOT NULL DEFAULT '';
    UPDATE requests SET requester = json_extract(body, '$.subject.id');
    CREATE INDEX requests_by_requester ON requests (requester, status);
  `,
  // Pending requests by approving group (the groups, and the escalation groups once escalated),
  // written in the same transaction as the request: a listing reads only the caller's groups.
  3: `
    CREATE TABLE pending_by_group (
      grp TEXT NOT NULL,
      request_id TEXT NOT NULL,
      created_at TEXT NOT NULL,
      expires_at TEXT NOT NULL,
      PRIMARY KEY (grp, request_id)
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX pending_by_group_created ON pending_by_group (grp, created_at, request_id);
    CREATE INDEX pending_by_group_deadline ON pending_by_group (grp, expires_at, request_id);
    CREATE INDEX pending_by_group_request ON pending_by_group (request_id);
    INSERT OR IGNORE INTO pending_by_group (grp, request_id, created_at, expires_at)
      SELECT g.value, r.id, r.created_at, json_extract(r.body, '$.approval.expiresAt')
      FROM requests r, json_each(r.body, '$.approval.groups') g
      WHERE r.status = 'pending' AND json_extract(r.body, '$.approval.expiresAt') IS NOT NULL
      UNION
      SELECT g.value, r.id, r.created_at, json_extract(r.body, '$.approval.expiresAt')
      FROM requests r, json_each(r.body, '$.approval.escalationGroups') g
      WHERE r.status = 'pending' AND json_extract(r.body, '$.approval.escalated') = 1;
  `,
  // Decided requests by viewer key (eligibility.ts viewerKeys: requester, person acted for,
  // approving and escalation groups), written in the same transaction as the request: a listing of
  // a status reads only the caller's keys, not every request in the status.
  4: `
    CREATE TABLE visible_by (
      viewer TEXT NOT NULL,
      status TEXT NOT NULL,
      created_at TEXT NOT NULL,
      request_id TEXT NOT NULL,
      PRIMARY KEY (viewer, status, created_at, request_id)
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX visible_by_request ON visible_by (request_id);
    INSERT OR IGNORE INTO visible_by (viewer, status, created_at, request_id)
      SELECT 'p:' || json_extract(r.body, '$.subject.id'), r.status, r.created_at, r.id
      FROM requests r WHERE r.status <> 'pending'
      UNION
      SELECT 'p:' || json_extract(r.body, '$.context.on_behalf_of'), r.status, r.created_at, r.id
      FROM requests r
      WHERE r.status <> 'pending' AND json_extract(r.body, '$.context.on_behalf_of') IS NOT NULL
      UNION
      SELECT 'g:' || g.value, r.status, r.created_at, r.id
      FROM requests r, json_each(r.body, '$.approval.groups') g WHERE r.status <> 'pending'
      UNION
      SELECT 'g:' || g.value, r.status, r.created_at, r.id
      FROM requests r, json_each(r.body, '$.approval.escalationGroups') g WHERE r.status <> 'pending';
  `,
};

export interface SqliteStoreOptions {
  /** File path, or `:memory:`. A new file is created owner-only (0600); an existing one is made so. */
  readonly path: string;
  /**
   * How long a call waits for another process's lock before giving up (503). The wait is
   * asynchronous: SQLite's own busy timeout would block the event loop, so it is 0 and a locked
   * database is retried with backoff while the gateway goes on serving. @default 5000
   */
  readonly busyTimeoutMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  /**
   * Tests only (a database file): the writer thread waits before each batch while `gate[0]` is 0,
   * so a test can hold a commit in flight. Over a SharedArrayBuffer; `Atomics.notify` releases it.
   */
  readonly writerGate?: Int32Array;
}

/**
 * The statements of a commit, run by the writer (sqlite-writer.ts) on its own connection: a file's
 * on a worker thread, `:memory:`'s on this one.
 */
const WRITES = {
  insertRequest:
    'INSERT INTO requests (id, version, status, created_at, body, requester) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
  updateRequest: 'UPDATE requests SET version = ?, status = ?, body = ? WHERE id = ? AND version = ?',
  insertEvent:
    'INSERT INTO audit_events (request_id, seq, type, time, hash, body) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
  insertIdempotency:
    'INSERT INTO idempotency_keys (requester, key, request_id, body_hash, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
  deletePointers: 'DELETE FROM pending_by_group WHERE request_id = ?',
  insertPointer:
    'INSERT OR IGNORE INTO pending_by_group (grp, request_id, created_at, expires_at) VALUES (?, ?, ?, ?)',
  deleteVisible: 'DELETE FROM visible_by WHERE request_id = ?',
  insertVisible:
    'INSERT OR IGNORE INTO visible_by (viewer, status, created_at, request_id) VALUES (?, ?, ?, ?)',
  countPending: `SELECT count(*) AS n FROM (SELECT 1 FROM requests WHERE requester = ? AND status = 'pending' LIMIT ?)`,
} as const satisfies Record<string, string>;

/** The writer a store sends its batches to: a worker thread's, or (`:memory:`) this thread's. */
interface Writer {
  write(batch: readonly (readonly Step[])[]): Promise<Outcome[]>;
  close(): Promise<void>;
}

export class SqliteRequestStore implements RequestStore {
  /** The connection on this thread: reads, migrations, and (`:memory:` only) the writes. */
  readonly db: Database.Database;
  readonly #statements;
  readonly #queue: QueuedCommit[] = [];
  readonly #flushes = new FlushScheduler(() => this.#flush());
  #inFlight = false;
  #idle: (() => void)[] = [];
  #closing: Promise<void> | undefined;
  readonly #busyTimeoutMs: number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #writer: Writer;

  constructor(options: SqliteStoreOptions) {
    const inMemory = options.path === ':memory:';
    if (!inMemory) ownerOnly(options.path);
    this.db = new Database(options.path);
    this.#busyTimeoutMs = options.busyTimeoutMs ?? 5000;
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    // Never wait inside SQLite: better-sqlite3 is synchronous, so that wait would stall every call.
    this.db.pragma('busy_timeout = 0');
    if (!inMemory) this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('foreign_keys = ON');
    this.#migrate();
    const db = this.db;
    this.#statements = {
      getRequest: db.prepare<[string], { body: string }>('SELECT body FROM requests WHERE id = ?'),
      getIdempotency: db.prepare<[string, string], IdempotencyRow>(
        'SELECT requester, key, request_id, body_hash, created_at FROM idempotency_keys WHERE requester = ? AND key = ?',
      ),
      listEvents: db.prepare<[string], { body: string }>(
        'SELECT body FROM audit_events WHERE request_id = ? ORDER BY seq',
      ),
      listByStatus: db.prepare<
        [string, string, string, string, number],
        { body: string; created_at: string; id: string }
      >(
        `SELECT body, created_at, id FROM requests WHERE status = ? AND (created_at > ? OR (created_at = ? AND id > ?))
         ORDER BY created_at, id LIMIT ?`,
      ),
      listByStatusNewest: db.prepare<
        [string, string, string, string, number],
        { body: string; created_at: string; id: string }
      >(
        `SELECT body, created_at, id FROM requests WHERE status = ? AND (created_at < ? OR (created_at = ? AND id < ?))
         ORDER BY created_at DESC, id DESC LIMIT ?`,
      ),
      groupNewest: db.prepare<[string, string, string, string, number], { at: string; id: string }>(
        `SELECT created_at AS at, request_id AS id FROM pending_by_group
         WHERE grp = ? AND (created_at < ? OR (created_at = ? AND request_id < ?))
         ORDER BY created_at DESC, request_id DESC LIMIT ?`,
      ),
      groupDeadline: db.prepare<[string, string, string, string, number], { at: string; id: string }>(
        `SELECT expires_at AS at, request_id AS id FROM pending_by_group
         WHERE grp = ? AND (expires_at > ? OR (expires_at = ? AND request_id > ?))
         ORDER BY expires_at, request_id LIMIT ?`,
      ),
      visibleNewest: db.prepare<[string, string, string, string, string, number], { at: string; id: string }>(
        `SELECT created_at AS at, request_id AS id FROM visible_by
         WHERE viewer = ? AND status = ? AND (created_at < ? OR (created_at = ? AND request_id < ?))
         ORDER BY created_at DESC, request_id DESC LIMIT ?`,
      ),
      countPending: db.prepare<[string, number], { n: number }>(WRITES.countPending),
    };
    if (inMemory) {
      // No other connection can see a `:memory:` database: its writes run here, through the very
      // same code the writer thread runs.
      if (options.writerGate) throw new Error('writerGate needs a database file (a writer thread)');
      const write = writerOf(this.db, WRITES);
      this.#writer = { write: async (batch) => write(batch), close: async () => {} };
    } else {
      // A file: its commits (statements and fsync) run on a worker thread with its own connection,
      // and this thread's connection reads (WAL: readers never wait for the writer).
      this.#writer = new ThreadWriter({
        driver: createRequire(import.meta.url).resolve('better-sqlite3'),
        path: options.path,
        statements: WRITES,
        ...(options.writerGate ? { gate: options.writerGate } : {}),
      });
    }
  }

  /** The writer thread now running, if any (none for `:memory:`, none before the first commit). */
  get writerThread(): Worker | undefined {
    return this.#writer instanceof ThreadWriter ? this.#writer.thread : undefined;
  }

  #outcome(outcome: Outcome, transition: Transition): unknown {
    if (outcome === undefined) return undefined;
    if ('conflict' in outcome) {
      const { request, expectedVersion, idempotency } = transition;
      if (outcome.conflict === 'cap') {
        return new PendingCapReachedError(
          `${request.subject.id} has ${transition.pendingCap} pending requests, its cap`,
        );
      }
      return outcome.conflict === 'idempotency'
        ? new IdempotencyKeyTakenError(`idempotency key ${idempotency?.key} is taken`)
        : new StaleStateError(`request ${request.id} changed since version ${expectedVersion}`);
    }
    // Anything else concerns this transition only (its savepoint was rolled back).
    return failureOf(outcome.error);
  }

  #migrate(): void {
    const current = this.db.pragma('user_version', { simple: true }) as number;
    if (current > SCHEMA_VERSION) {
      throw new Error(
        `the SQLite store has schema version ${current}, newer than this gateway understands (${SCHEMA_VERSION}); upgrade the gateway`,
      );
    }
    for (let version = current + 1; version <= SCHEMA_VERSION; version++) {
      this.db.transaction(() => {
        this.db.exec(MIGRATIONS[version] ?? '');
        this.db.pragma(`user_version = ${version}`);
      })();
    }
  }

  /**
   * Group commit: transitions that arrive while a batch is being written form the next batch, one
   * SQLite transaction (one fsync), each inside its own savepoint, so one refused transition never
   * affects another and every caller still learns its own result. At most one batch is in flight.
   * Durability stays `synchronous = FULL`: the promise resolves once the transaction is durable
   * (and from then on this thread's reads see it).
   */
  commit(transition: Transition): Promise<void> {
    if (this.#closing) return Promise.reject(new StoreUnavailableError('the local database is closed'));
    return new Promise((resolve, reject) => {
      this.#queue.push({ transition, resolve, reject, since: Date.now(), attempt: 0 });
      this.#flushes.schedule();
    });
  }

  #flush(): void {
    // One batch at a time: what arrives meanwhile waits for its answer, then goes as the next.
    if (this.#inFlight) return;
    const batch: QueuedCommit[] = [];
    const steps: Step[][] = [];
    for (const item of this.#queue.splice(0)) {
      try {
        steps.push(stepsOf(item.transition));
        batch.push(item);
      } catch (error) {
        item.reject(error);
      }
    }
    if (batch.length === 0) {
      this.#settled();
      return;
    }
    this.#inFlight = true;
    this.#writer.write(steps).then(
      (outcomes) => {
        this.#inFlight = false;
        batch.forEach((item, i) => {
          const error = this.#outcome(outcomes[i], item.transition);
          if (error === undefined) item.resolve();
          else item.reject(error);
        });
        this.#settled();
      },
      (error: unknown) => {
        this.#inFlight = false;
        // The batch as a whole failed: nothing of it was written. Locked by another process: try
        // again later (without blocking) until each caller's deadline; anything else fails now.
        const now = Date.now();
        const retry = isBusy(error) ? batch.filter((item) => now - item.since < this.#busyTimeoutMs) : [];
        const translated = translate(error);
        for (const item of batch) if (!retry.includes(item)) item.reject(translated);
        if (retry.length > 0) {
          const attempt = Math.max(...retry.map((item) => ++item.attempt));
          this.#queue.unshift(...retry);
          this.#flushes.schedule(backoff(attempt));
        }
        this.#settled();
      },
    );
  }

  /** After a batch: the next one if commits are waiting, else whoever waits for quiet (close). */
  #settled(): void {
    if (this.#queue.length > 0) {
      this.#flushes.schedule();
      return;
    }
    if (this.#inFlight) return;
    for (const resolve of this.#idle.splice(0)) resolve();
  }

  async get(requestId: string): Promise<ActionRequest | undefined> {
    const row = await this.#read(() => this.#statements.getRequest.get(requestId));
    return row ? (JSON.parse(row.body) as ActionRequest) : undefined;
  }

  async getIdempotency(requester: string, key: string): Promise<IdempotencyRecord | undefined> {
    const row = await this.#read(() => this.#statements.getIdempotency.get(requester, key));
    return row
      ? {
          requester: row.requester,
          key: row.key,
          requestId: row.request_id,
          bodyHash: row.body_hash,
          createdAt: row.created_at,
        }
      : undefined;
  }

  async listEvents(requestId: string): Promise<readonly AuditEvent[]> {
    const rows = await this.#read(() => this.#statements.listEvents.all(requestId));
    return rows.map((row) => JSON.parse(row.body) as AuditEvent);
  }

  async listByStatus(status: Status, options: ListByStatusOptions = {}): Promise<Page<ActionRequest>> {
    const limit = pageLimit(options.limit);
    // Without a cursor: from before the first instant, or (newest first) after the last one.
    const { createdAt: afterTime, id: afterId } = options.cursor
      ? readCursor(options.cursor)
      : options.newestFirst
        ? { createdAt: '\uffff', id: '\uffff' }
        : { createdAt: '', id: '' };
    const statement = options.newestFirst
      ? this.#statements.listByStatusNewest
      : this.#statements.listByStatus;
    const rows = await this.#read(() => statement.all(status, afterTime, afterTime, afterId, limit + 1));
    const items = rows.slice(0, limit).map((row) => JSON.parse(row.body) as ActionRequest);
    const last = rows.length > limit ? rows[limit - 1] : undefined;
    return last ? { items, cursor: cursorAfter({ createdAt: last.created_at, id: last.id }) } : { items };
  }

  async listPendingForGroups(
    groups: readonly string[],
    options: ListPendingOptions = {},
  ): Promise<Page<ActionRequest>> {
    const limit = pageLimit(options.limit);
    const order = options.order ?? 'newest';
    const after = options.cursor
      ? readCursor(options.cursor)
      : order === 'newest'
        ? { createdAt: '\uffff', id: '\uffff' }
        : { createdAt: '', id: '' };
    const statement = order === 'newest' ? this.#statements.groupNewest : this.#statements.groupDeadline;
    // One bounded read per group, merged: the work is the page times the caller's groups.
    const runs = await this.#read(
      this.#snapshot(() =>
        [...new Set(groups)].map((group) => {
          const rows = statement.all(group, after.createdAt, after.createdAt, after.id, limit + 1);
          return { keys: rows.slice(0, limit), truncated: rows.length > limit };
        }),
      ),
    );
    return this.#recordsOf(mergeRuns(runs, order === 'newest' ? 'desc' : 'asc', limit));
  }

  async listVisible(
    keys: readonly string[],
    status: Status,
    options: ListVisibleOptions = {},
  ): Promise<Page<ActionRequest>> {
    const limit = pageLimit(options.limit);
    const after = options.cursor ? readCursor(options.cursor) : { createdAt: '\uffff', id: '\uffff' };
    // One bounded read per key, merged: the work is the page times the caller's keys.
    const runs = await this.#read(
      this.#snapshot(() =>
        [...new Set(keys)].map((key) => {
          const rows = this.#statements.visibleNewest.all(
            key,
            status,
            after.createdAt,
            after.createdAt,
            after.id,
            limit + 1,
          );
          return { keys: rows.slice(0, limit), truncated: rows.length > limit };
        }),
      ),
    );
    return this.#recordsOf(mergeRuns(runs, 'desc', limit));
  }

  /** The records of a merged page of index keys, with the cursor after its last key. */
  async #recordsOf(page: ReturnType<typeof mergeRuns>): Promise<Page<ActionRequest>> {
    const items = await this.#read(
      this.#snapshot(() =>
        page.keys.flatMap((key) => {
          const row = this.#statements.getRequest.get(key.id);
          return row ? [JSON.parse(row.body) as ActionRequest] : [];
        }),
      ),
    );
    const last = page.keys.at(-1);
    return page.more && last
      ? { items, cursor: cursorAfter({ createdAt: last.at, id: last.id }) }
      : { items };
  }

  async countPending(requester: string, atMost: number): Promise<number> {
    const row = await this.#read(() => this.#statements.countPending.get(requester, Math.max(0, atMost)));
    return row?.n ?? 0;
  }

  /**
   * Stops taking commits, waits for those already taken (including lock retries, up to their
   * deadline) to be written, then closes the connection and stops the writer thread. Idle, the
   * connection closes at once.
   */
  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    if (this.#queue.length === 0 && !this.#inFlight) {
      this.db.close();
      this.#closing = this.#writer.close();
    } else {
      this.#closing = new Promise<void>((resolve) => this.#idle.push(resolve)).then(() => {
        this.db.close();
        return this.#writer.close();
      });
    }
    return this.#closing;
  }

  /**
   * Reads of several statements in one read transaction: the writer thread commits whenever it
   * likes, and each statement alone would see the database as of its own start.
   */
  #snapshot<T>(read: () => T): () => T {
    return () => this.db.transaction(read).deferred();
  }

  /** A read; while another process holds a lock that blocks it, retried with backoff (never blocking). */
  async #read<T>(read: () => T): Promise<T> {
    const since = Date.now();
    for (let attempt = 1; ; attempt++) {
      try {
        return read();
      } catch (error) {
        if (!isBusy(error) || Date.now() - since >= this.#busyTimeoutMs) throw translate(error);
        await this.#sleep(backoff(attempt));
      }
    }
  }
}

interface QueuedCommit {
  readonly transition: Transition;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
  /** When the caller asked: its wait for a lock ends busyTimeoutMs after this. */
  readonly since: number;
  attempt: number;
}

/** The statements that write a transition (run by the writer in one savepoint). */
function stepsOf(transition: Transition): Step[] {
  const { request, expectedVersion, events, idempotency, pendingCap } = transition;
  const steps: Step[] = [];
  const body = JSON.stringify(request);
  // Exact: commits are serialised by SQLite's write lock, so the count cannot change under us.
  if (pendingCap !== undefined && request.status === 'pending' && transition.previous?.status !== 'pending') {
    steps.push(['countPending', [request.subject.id, pendingCap], 'cap', pendingCap]);
  }
  steps.push(
    expectedVersion === 0
      ? [
          'insertRequest',
          [request.id, request.version, request.status, request.createdAt, body, request.subject.id],
          'version',
        ]
      : ['updateRequest', [request.version, request.status, body, request.id, expectedVersion], 'version'],
  );
  for (const event of events) {
    steps.push([
      'insertEvent',
      [event.request_id, event.seq, event.type, event.time, event.hash, JSON.stringify(event)],
      'version',
    ]);
  }
  if (idempotency) {
    const { requester, key, requestId, bodyHash, createdAt } = idempotency;
    steps.push(['insertIdempotency', [requester, key, requestId, bodyHash, createdAt], 'idempotency']);
  }
  if (expectedVersion > 0) steps.push(['deletePointers', [request.id]]);
  const deadline = request.approval?.expiresAt ?? request.createdAt;
  for (const group of listedGroups(request)) {
    steps.push(['insertPointer', [group, request.id, request.createdAt, deadline]]);
  }
  // Viewer entries change with the status only (the keys are fixed at creation): most commits
  // (votes, redemption, outcomes) keep the status and write none.
  const previous = transition.previous;
  if (expectedVersion === 0 || previous === undefined || previous.status !== request.status) {
    if (expectedVersion > 0) steps.push(['deleteVisible', [request.id]]);
    if (request.status !== 'pending') {
      for (const key of viewerKeys(request)) {
        steps.push(['insertVisible', [key, request.status, request.createdAt, request.id]]);
      }
    }
  }
  return steps;
}

/** SQLite's error code (from this thread's driver, or rebuilt from the writer thread's answer). */
function sqliteCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_') ? code : undefined;
}

function isBusy(error: unknown): boolean {
  return /^SQLITE_(BUSY|LOCKED)/.test(sqliteCode(error) ?? '');
}

/** 2, 4, 8 … ms, at most 100, jittered so that waiting processes do not retry in step. */
function backoff(attempt: number): number {
  return Math.min(100, 2 ** attempt) * (0.5 + Math.random() / 2);
}

/** Creates the file owner-only if it is new, and takes group and other access away if not. */
function ownerOnly(path: string): void {
  closeSync(openSync(path, 'a', 0o600));
  chmodSync(path, 0o600);
}

interface IdempotencyRow {
  requester: string;
  key: string;
  request_id: string;
  body_hash: string;
  created_at: string;
}

const DATABASE_FAILURE = /^SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN|NOMEM|CORRUPT|NOTADB)/;

function translate(error: unknown): unknown {
  const code = sqliteCode(error);
  if (code !== undefined && DATABASE_FAILURE.test(code)) {
    return new StoreUnavailableError(`the local database is unavailable (${code}); retry shortly`, {
      cause: error,
    });
  }
  if (error instanceof WriterStoppedError) {
    return new StoreUnavailableError(`the local database writer stopped; retry shortly (${error.message})`, {
      cause: error,
    });
  }
  return error;
}
