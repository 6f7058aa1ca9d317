/**
 * The write side of the SQLite store: a batch of writes, each a list of statements computed by the
 * caller, executed as one transaction (one fsync) with each write in its own savepoint.
 *
 * It knows nothing of requests or audit events: the store turns a transition into rows and keys on
 * its own thread, and this code runs them. The same function runs in two places: on a worker
 * thread that owns its own connection (a database file: the fsync never stops the event loop), and
 * on the caller's thread for `:memory:` (which no other connection can see). `writerOf` is
 * self-contained (no outer names) because the worker's script is made from its source text: a
 * worker cannot load the TypeScript sources that tests run, and the bundles in dist/ then need no
 * second file.
 */
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';

/** A statement's parameters: strings, numbers and null only (they cross threads). */
export type Params = readonly (string | number | null)[];

/**
 * One statement of a write, by name:
 * - `[name, params]` runs it;
 * - `[name, params, conflict]` runs it and refuses the write as `conflict` unless it changed one row;
 * - `[name, params, conflict, atLeast]` reads one number and refuses the write as `conflict` when it
 *   is `atLeast` or more (a guard, such as a count checked inside the transaction).
 */
export type Step =
  | readonly [statement: string, params: Params]
  | readonly [statement: string, params: Params, conflict: string]
  | readonly [statement: string, params: Params, conflict: string, atLeast: number];

/** What became of one write: written (undefined), refused, or failed alone (its savepoint undone). */
export type Outcome = undefined | { readonly conflict: string } | { readonly error: FailureInfo };

/** An error as it crosses a thread: SQLite's code when it has one. */
export interface FailureInfo {
  readonly name: string;
  readonly message: string;
  readonly code?: string;
}

/** Writes a batch: one outcome per write, or throws when the database fails (nothing written). */
export type BatchWriter = (batch: readonly (readonly Step[])[]) => Outcome[];

/**
 * Sets the connection up for writing (no busy wait inside SQLite, full durability) and prepares
 * the statements. A write refused by a conflict, or failing on its own (a constraint, a bad value),
 * rolls back its savepoint and leaves the rest of the batch; the database failing (busy, locked,
 * I/O, full, corrupt) aborts the whole batch and is thrown. Self-contained: see the file comment.
 */
export function writerOf(db: Database.Database, statements: Readonly<Record<string, string>>): BatchWriter {
  const databaseFailure = /^SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN|NOMEM|CORRUPT|NOTADB)/;
  // Locks are waited for by the caller, with backoff, until its own deadline.
  db.pragma('busy_timeout = 0');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  const prepared = new Map<string, Database.Statement>();
  for (const [name, sql] of Object.entries(statements)) prepared.set(name, db.prepare(sql));
  const refused = Symbol('refused');
  // A nested better-sqlite3 transaction is a savepoint: a refused write rolls back alone.
  const writeOne = db.transaction((steps: readonly Step[]) => {
    for (const [name, params, conflict, atLeast] of steps) {
      const statement = prepared.get(name);
      if (statement === undefined) throw new Error(`no statement named ${name}`);
      if (atLeast !== undefined) {
        const row = statement.get(...params) as Record<string, unknown> | undefined;
        const value = Number(row === undefined ? 0 : Object.values(row)[0]);
        if (value >= atLeast) throw { [refused]: conflict };
      } else if (statement.run(...params).changes !== 1 && conflict !== undefined) {
        throw { [refused]: conflict };
      }
    }
  });
  const writeAll = db.transaction((batch: readonly (readonly Step[])[], outcomes: Outcome[]) => {
    batch.forEach((steps, i) => {
      try {
        writeOne(steps);
      } catch (error) {
        if (typeof error === 'object' && error !== null && refused in error) {
          outcomes[i] = { conflict: String((error as Record<symbol, unknown>)[refused]) };
          return;
        }
        const { name, message, code } = error as { name?: unknown; message?: unknown; code?: unknown };
        if (typeof code === 'string' && databaseFailure.test(code)) throw error;
        outcomes[i] = {
          error: {
            name: String(name ?? 'Error'),
            message: String(message ?? error),
            ...(typeof code === 'string' ? { code } : {}),
          },
        };
      }
    });
  });
  return (batch) => {
    const outcomes: Outcome[] = new Array(batch.length).fill(undefined);
    writeAll.immediate(batch, outcomes);
    return outcomes;
  };
}

/** What the writer thread is given. */
interface WriterData {
  /** Where better-sqlite3 is (resolved by the caller: the thread's script has no location). */
  readonly driver: string;
  readonly path: string;
  readonly statements: Readonly<Record<string, string>>;
  /** Tests only: before each batch the thread waits while its first slot is 0. */
  readonly gate?: Int32Array;
}

/** Messages from the writer thread: a batch's outcomes, or its failure (nothing written). */
type FromWriter =
  | { readonly outcomes: Outcome[] }
  | { readonly failed: FailureInfo }
  | { readonly closed: true };

/**
 * The writer thread's program. Self-contained, like writerOf: it runs from its source text, and is
 * handed the thread's `require` (a bundler rewrites the name `require` in the code it bundles).
 */
function writerThread(load: NodeJS.Require, makeWriter: typeof writerOf): void {
  const { parentPort, workerData } = load('node:worker_threads') as typeof import('node:worker_threads');
  const data = workerData as WriterData;
  const Driver = load(data.driver) as typeof Database;
  const db = new Driver(data.path);
  const write = makeWriter(db, data.statements);
  parentPort?.on('message', (message: { batch?: readonly (readonly Step[])[]; close?: true }) => {
    if (message.close) {
      db.close();
      parentPort.postMessage({ closed: true } satisfies FromWriter);
      parentPort.close();
      return;
    }
    if (data.gate) Atomics.wait(data.gate, 0, 0);
    try {
      parentPort.postMessage({ outcomes: write(message.batch ?? []) } satisfies FromWriter);
    } catch (error) {
      const { name, message: text, code } = error as { name?: unknown; message?: unknown; code?: unknown };
      parentPort.postMessage({
        failed: {
          name: String(name ?? 'Error'),
          message: String(text ?? error),
          ...(typeof code === 'string' ? { code } : {}),
        },
      } satisfies FromWriter);
    }
  });
}

// The worker's script: CommonJS (eval), so `require` is the thread's own. A tool that names
// functions at run time (keepNames) may wrap inner functions in a `__name` helper: the script
// brings a harmless one.
const WRITER_SCRIPT = `"use strict";
var __name = (target) => target;
(${writerThread.toString()})(require, ${writerOf.toString()});
`;

/** Why the writer thread is gone, for the callers whose batch it held. */
export class WriterStoppedError extends Error {
  override name = 'WriterStoppedError';
}

export interface ThreadWriterOptions {
  readonly driver: string;
  readonly path: string;
  readonly statements: Readonly<Record<string, string>>;
  readonly gate?: Int32Array;
}

/**
 * A batch writer on a worker thread with its own connection. At most one batch is in flight (the
 * store sends the next when this one is answered). A thread that dies fails its batch with
 * WriterStoppedError (whether it was written is unknown) and the next batch starts a new thread.
 */
export class ThreadWriter {
  readonly #options: ThreadWriterOptions;
  #worker: Worker | undefined;
  #pending:
    | { resolve: (outcomes: Outcome[]) => void; reject: (error: unknown) => void; worker: Worker }
    | undefined;

  constructor(options: ThreadWriterOptions) {
    this.#options = options;
  }

  /** The thread now running, if any (tests stop it to see what its callers get). */
  get thread(): Worker | undefined {
    return this.#worker;
  }

  write(batch: readonly (readonly Step[])[]): Promise<Outcome[]> {
    if (this.#pending) return Promise.reject(new Error('a batch is already in flight'));
    return new Promise((resolve, reject) => {
      try {
        const worker = this.#worker ?? this.#start();
        this.#pending = { resolve, reject, worker };
        // While a batch is in flight the thread keeps the process alive; idle, it does not.
        worker.ref();
        worker.postMessage({ batch });
      } catch (error) {
        // Not started, or the batch could not be handed over: nothing was written.
        this.#pending = undefined;
        reject(error);
      }
    });
  }

  /** Stops the thread after the batch in flight (the store sends none after this). */
  async close(): Promise<void> {
    const worker = this.#worker;
    this.#worker = undefined;
    if (!worker) return;
    await new Promise<void>((resolve) => {
      worker.once('exit', () => resolve());
      worker.on('message', (message: FromWriter) => {
        if ('closed' in message) resolve();
      });
      worker.ref();
      worker.postMessage({ close: true });
    });
  }

  #start(): Worker {
    const { driver, path, statements, gate } = this.#options;
    const data: WriterData = { driver, path, statements, ...(gate ? { gate } : {}) };
    const worker = new Worker(WRITER_SCRIPT, { eval: true, workerData: data });
    worker.unref();
    this.#worker = worker;
    worker.on('message', (message: FromWriter) => {
      const pending = this.#pending;
      if ('closed' in message || pending?.worker !== worker) return;
      this.#pending = undefined;
      worker.unref();
      if ('failed' in message) pending.reject(failureOf(message.failed));
      else pending.resolve(message.outcomes);
    });
    worker.on('error', (error) => this.#stopped(worker, error));
    worker.on('exit', (code) => this.#stopped(worker, new Error(`the thread exited with code ${code}`)));
    return worker;
  }

  #stopped(worker: Worker, cause: unknown): void {
    if (this.#worker === worker) this.#worker = undefined;
    const pending = this.#pending;
    if (pending?.worker !== worker) return;
    this.#pending = undefined;
    const reason = cause instanceof Error ? cause.message : String(cause);
    pending.reject(
      new WriterStoppedError(`the database writer thread stopped (${reason}); its batch may not be written`, {
        cause,
      }),
    );
  }
}

/** An error from the thread, rebuilt: the code stays, so SQLite's failures are recognised. */
export function failureOf(info: FailureInfo): Error {
  const error = new Error(info.message) as Error & { code?: string };
  error.name = info.name;
  if (info.code !== undefined) error.code = info.code;
  return error;
}
