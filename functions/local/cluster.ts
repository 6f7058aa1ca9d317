/**
 * The local gateway as several processes on one port (config `workers`, docs/local-mode.md#workers;
 * decision 0018). node:cluster's primary holds the listening socket and hands connections to the
 * workers in turn; every worker runs the whole HTTP application over the same SQLite files.
 *
 * What must happen once per gateway runs in one worker, the coordinator (worker 0): the
 * escalation and expiry timers, Slack Socket Mode, the cards owed after a restart, the policy
 * watch. The primary serves no request: it relays small messages between the workers, replaces a
 * worker that dies, and stops them all on SIGINT/SIGTERM.
 */
import cluster, { type Worker } from 'node:cluster';
import type { ActionRequest } from '../core/model.ts';
import type { ApprovalWorkflow } from '../core/ports/workflow.port.ts';
import type { Logger } from '../observability/logger.ts';
import type { ReloadResult } from './policy.ts';

/** What the primary and the workers tell each other (IPC, JSON). */
export type PeerMessage =
  /** A worker is serving; `banner` is what a single process would have printed. */
  | { readonly t: 'ready'; readonly banner: string; readonly digest: string }
  /** A worker committed a change to this request: the others wake its long-poll waiters. */
  | { readonly t: 'wake'; readonly requestId: string }
  /** A worker's commit asks for the coordinator's timers (arm them, or clear them). */
  | { readonly t: 'timer'; readonly op: 'start' | 'decided'; readonly request: ActionRequest }
  /** Load the bundle again; with `digest`, only a bundle with that digest. */
  | { readonly t: 'reload'; readonly trigger: string; readonly digest?: string }
  /** What a worker's reload came to. */
  | { readonly t: 'reloaded'; readonly trigger: string; readonly result: ReloadResult };

/** A worker's end of the IPC channel to the primary. */
export interface PeerLink {
  /** This worker owns the timers, Socket Mode, the owed cards and the policy watch. */
  readonly coordinator: boolean;
  /** How many workers serve the port (per-gateway caps are shared among them). */
  readonly workers: number;
  send(message: PeerMessage): void;
  onMessage(listener: (message: PeerMessage) => void): void;
}

const INDEX_ENV = 'ALA_WORKER_INDEX';
const COUNT_ENV = 'ALA_WORKER_COUNT';
const SESSION_SECRET_ENV = 'ALA_WORKER_SESSION_SECRET';
const DIGEST_ENV = 'ALA_WORKER_POLICY_DIGEST';

/** Settings the primary hands a worker it forks (environment, read once at the worker's start). */
export interface WorkerStart {
  readonly index: number;
  readonly workers: number;
  /** The review page's cookie key, one for every worker (a session made on one is valid on all). */
  readonly sessionSecret: string;
  /** The digest the other workers decide with: a replacement loads only that bundle. */
  readonly digest?: string;
}

export function workerStart(env: NodeJS.ProcessEnv = process.env): WorkerStart {
  const index = Number(env[INDEX_ENV]);
  const workers = Number(env[COUNT_ENV]);
  const sessionSecret = env[SESSION_SECRET_ENV];
  if (!Number.isInteger(index) || index < 0 || !Number.isInteger(workers) || !sessionSecret) {
    throw new Error(
      `a gateway worker needs ${INDEX_ENV}, ${COUNT_ENV} and ${SESSION_SECRET_ENV} from the primary`,
    );
  }
  const digest = env[DIGEST_ENV];
  return { index, workers, sessionSecret, ...(digest ? { digest } : {}) };
}

/** The worker's link over `process.send`. Messages sent while the primary is gone are dropped. */
export function processLink(start: WorkerStart): PeerLink {
  return {
    coordinator: start.index === 0,
    workers: start.workers,
    send: (message) => {
      if (process.connected) process.send?.(message);
    },
    onMessage: (listener) => {
      process.on('message', (message: PeerMessage) => listener(message));
    },
  };
}

/**
 * A follower's workflow: its commits hand the timers to the coordinator. A message lost while the
 * coordinator restarts costs nothing: the replacement re-arms every pending request from the store,
 * and the request was committed before the message was sent.
 */
export class RelayedTimerWorkflow implements ApprovalWorkflow {
  readonly #link: PeerLink;

  constructor(link: PeerLink) {
    this.#link = link;
  }

  async start(request: ActionRequest): Promise<void> {
    this.#link.send({ t: 'timer', op: 'start', request });
  }

  async decided(request: ActionRequest): Promise<void> {
    this.#link.send({ t: 'timer', op: 'decided', request });
  }
}

export interface PrimaryOptions {
  readonly workers: number;
  readonly logger: Logger;
  readonly out: (line: string) => void;
  /** The review page's cookie key when the config sets none. */
  readonly sessionSecret: string;
  /** Replaces a worker that died this long after a replacement that died at once. @default 1000 */
  readonly restartDelayMs?: number;
  /** How long a stop waits for the workers before killing them. @default 30000 */
  readonly stopTimeoutMs?: number;
}

/**
 * Runs the primary: forks the coordinator, then (once it has migrated the database and written the
 * demo tokens) the others, prints one banner, and supervises. Resolves when the gateway has stopped;
 * rejects when a worker fails to start (its error is on stderr).
 */
export function runPrimary(options: PrimaryOptions): Promise<number> {
  const { logger, workers } = options;
  const slots = new Map<number, Worker>();
  const startedAt = new Map<number, number>();
  /** The digest each worker was forked pinned to (the coordinator may reload while it loads). */
  const pinnedTo = new Map<number, string | undefined>();
  let digest: string | undefined;
  let starting = true;
  let stopping = false;
  let reloading = false;
  let resolveStopped: (code: number) => void = () => {};
  const stopped = new Promise<number>((resolve) => {
    resolveStopped = resolve;
  });

  const coordinator = () => slots.get(0);
  const others = (than: Worker) => [...slots.values()].filter((w) => w !== than);
  const send = (worker: Worker | undefined, message: PeerMessage) => {
    if (worker?.isConnected()) worker.send(message);
  };

  const fork = (index: number): Worker => {
    const worker = cluster.fork({
      [INDEX_ENV]: String(index),
      [COUNT_ENV]: String(workers),
      [SESSION_SECRET_ENV]: options.sessionSecret,
      ...(digest ? { [DIGEST_ENV]: digest } : {}),
    });
    slots.set(index, worker);
    startedAt.set(index, Date.now());
    pinnedTo.set(index, digest);
    worker.on('message', (message: PeerMessage) => onMessage(index, worker, message));
    worker.on('exit', (code, signal) => onExit(index, worker, code, signal));
    return worker;
  };

  const onMessage = (index: number, worker: Worker, message: PeerMessage) => {
    switch (message.t) {
      case 'wake':
        for (const other of others(worker)) send(other, message);
        return;
      case 'timer':
        if (index !== 0) send(coordinator(), message);
        return;
      case 'reloaded':
        onReloaded(index, message.trigger, message.result);
        return;
      case 'ready':
        onReady(index, message);
        return;
      default:
        return;
    }
  };

  let ready = 0;
  const onReady = (index: number, message: Extract<PeerMessage, { t: 'ready' }>) => {
    digest ??= message.digest;
    // The coordinator reloaded while this worker loaded (its reload message came before the worker
    // listened): it now loads the coordinator's bundle too.
    if (index !== 0 && message.digest !== digest) {
      send(slots.get(index), { t: 'reload', trigger: 'joined after a reload', digest });
    }
    if (!starting) {
      logger.info('gateway worker replaced', { worker: index, pid: slots.get(index)?.process.pid });
      return;
    }
    // The coordinator first: it migrates the database, writes the demo tokens, re-arms the timers.
    // It serves alone until the others join (the primary hands connections to workers that listen).
    if (index === 0) {
      for (let i = 1; i < workers; i++) fork(i);
      const [first = '', ...rest] = message.banner.split('\n');
      const pids = [...slots.entries()].map(([i, w]) => `${w.process.pid}${i === 0 ? ' (coordinator)' : ''}`);
      options.out(
        [first, `  workers   ${workers} processes on one port: ${pids.join(', ')}`, ...rest].join('\n'),
      );
    }
    if (++ready === workers) {
      starting = false;
      logger.info('all gateway workers serving', { workers });
    }
  };

  // The coordinator reloads first (SIGHUP, or its watch saw the files change); the others then
  // load the bundle it loaded, pinned to its digest, so every worker decides with one bundle.
  const onReloaded = (index: number, trigger: string, result: ReloadResult) => {
    if (index === 0) {
      reloading = false;
      if (!result.ok) return;
      digest = result.current;
      for (const [i, worker] of slots) {
        if (i !== 0) send(worker, { t: 'reload', trigger, digest: result.current });
      }
      return;
    }
    if (!result.ok || result.current !== digest) {
      logger.error(
        'a gateway worker could not load the bundle the coordinator loaded; reload again (SIGHUP)',
        {
          worker: index,
          digest: result.current,
          expected: digest,
        },
      );
    }
  };

  const onExit = (index: number, worker: Worker, code: number | null, signal: string | null) => {
    if (slots.get(index) === worker) slots.delete(index);
    if (index === 0) reloading = false;
    if (stopping) {
      if (slots.size === 0) resolveStopped(0);
      return;
    }
    if (starting && index !== 0 && pinnedTo.get(index) !== digest) {
      // Pinned to a bundle the coordinator has since replaced (the files changed while it loaded):
      // not a failure to start; it starts again pinned to the bundle the coordinator now decides with.
      logger.info('gateway worker starting again on the reloaded bundle', { worker: index, digest });
      fork(index);
      return;
    }
    if (starting) {
      // A worker that cannot start (configuration, bundle, port) has said why on stderr.
      stopping = true;
      for (const other of slots.values()) other.kill('SIGTERM');
      if (slots.size === 0) resolveStopped(2);
      else void Promise.all([...slots.values()].map(exited)).then(() => resolveStopped(2));
      return;
    }
    const livedMs = Date.now() - (startedAt.get(index) ?? 0);
    const delay = livedMs < 5_000 ? (options.restartDelayMs ?? 1_000) : 0;
    logger.error('gateway worker exited; starting a replacement', {
      worker: index,
      pid: worker.process.pid,
      code,
      signal,
      restartInMs: delay,
    });
    setTimeout(() => {
      if (!stopping) fork(index);
    }, delay);
  };

  const stop = (signal: string) => {
    if (stopping) {
      // A second signal: do not wait any longer.
      for (const worker of slots.values()) worker.process.kill('SIGKILL');
      resolveStopped(1);
      return;
    }
    stopping = true;
    logger.info('stopping', { signal, workers: slots.size });
    // A signal, not a message: a worker still loading has no listener yet, and then simply exits.
    for (const worker of slots.values()) worker.process.kill('SIGTERM');
    if (slots.size === 0) resolveStopped(0);
    setTimeout(() => {
      for (const worker of slots.values()) worker.process.kill('SIGKILL');
      resolveStopped(1);
    }, options.stopTimeoutMs ?? 30_000).unref();
  };

  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGHUP', () => {
    const worker = coordinator();
    if (!worker || reloading) return;
    reloading = true;
    send(worker, { t: 'reload', trigger: 'SIGHUP' });
  });

  fork(0);
  return stopped;
}

function exited(worker: Worker): Promise<void> {
  if (worker.isDead()) return Promise.resolve();
  return new Promise((resolve) => worker.once('exit', () => resolve()));
}
