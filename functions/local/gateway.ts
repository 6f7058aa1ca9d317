/**
 * The local gateway: the same HTTP application as on AWS, over an embedded SQLite store, served by
 * Node on one port. Everything it needs is in the repository; no cloud account.
 */
import { mkdirSync } from 'node:fs';
import type { ServerOptions } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import { roleArn, StsCredentialBroker } from '../adapters/aws/sts-credential-broker.ts';
import type { TeamsInbound } from '../adapters/chat/teams/index.ts';
import { MemoryRateCounter } from '../adapters/local/memory-rate-counter.ts';
import { LocalTimerWorkflow } from '../adapters/local/timer-workflow.ts';
import { claimLimitsLock, type LimitsLock, LimitsLockHeldError } from '../adapters/sqlite/limits-lock.ts';
import { SqliteRateCounter } from '../adapters/sqlite/sqlite-rate-counter.ts';
import { SqliteReplayGuard } from '../adapters/sqlite/sqlite-replay-guard.ts';
import { SqliteRequestStore } from '../adapters/sqlite/sqlite-store.ts';
import { systemClock, ulidIds } from '../adapters/system/system.ts';
import { inventoryAttributes, inventoryThenTags } from '../core/attributes.ts';
import { RateLimits } from '../core/limits.ts';
import { ApprovalNotifications } from '../core/notifications.ts';
import type { ResourceAttributes } from '../core/ports/attributes.port.ts';
import type { RateCounter } from '../core/ports/counter.port.ts';
import type { PolicyEvaluator } from '../core/ports/policy.port.ts';
import type { RequestStore } from '../core/ports/store.port.ts';
import type { ApprovalWorkflow } from '../core/ports/workflow.port.ts';
import { ApprovalService } from '../core/service.ts';
import { createApp } from '../http/app.ts';
import { bearerTokenAuthenticator } from '../http/auth.ts';
import { ChangeHub } from '../http/waiter.ts';
import { logLifecycle } from '../observability/lifecycle-log.ts';
import type { Logger } from '../observability/logger.ts';
import { type PeerLink, RelayedTimerWorkflow } from './cluster.ts';
import { ConfigError, type LocalConfig } from './config.ts';
import { localNotifiers, localTeams } from './notifiers.ts';
import { localReviewPage } from './review.ts';
import { startLocalSlack } from './slack.ts';

export interface RunningGateway {
  readonly url: string;
  readonly port: number;
  readonly service: ApprovalService;
  /** The timers (one process, or the coordinator of several); a follower hands them on. */
  readonly workflow: ApprovalWorkflow;
  readonly notifications: ApprovalNotifications;
  /** Pending approvals whose timers were re-armed from the store at start. */
  readonly recovered: number;
  close(): Promise<void>;
}

export interface GatewayOptions {
  /** One of several processes (functions/local/cluster.ts); without it, the only one. */
  readonly peers?: PeerLink;
  /** The review page's cookie key when the config sets none (the same for every worker). */
  readonly sessionSecret?: string;
}

export async function startGateway(
  config: LocalConfig,
  policy: PolicyEvaluator,
  logger: Logger,
  options: GatewayOptions = {},
): Promise<RunningGateway> {
  const peers = options.peers;
  // What happens once per gateway (timers, Socket Mode, owed cards): here unless a follower.
  const coordinator = peers?.coordinator ?? true;
  // Owner-only: the folder holds the database and the demo tokens (an existing folder is left as is).
  const review = localReviewPage(config, options.sessionSecret);
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const { counter, lock } = rateCounter(config, peers !== undefined);
  let store: SqliteRequestStore;
  try {
    store = new SqliteRequestStore({ path: join(config.dataDir, 'gateway.db') });
  } catch (error) {
    counter.close();
    lock.release();
    throw error;
  }
  const replay = new SqliteReplayGuard({ path: join(config.dataDir, 'replay.db') });
  const hub = new ChangeHub();
  const logCommit = logLifecycle(logger);
  const timers = coordinator ? new LocalTimerWorkflow({ logger }) : undefined;
  const workflow: ApprovalWorkflow = timers ?? new RelayedTimerWorkflow(peers as PeerLink);
  peers?.onMessage((message) => {
    if (message.t === 'wake') hub.wake(message.requestId);
    else if (message.t === 'timer' && timers) {
      void (message.op === 'start' ? timers.start(message.request) : timers.decided(message.request));
    }
  });
  const credentials = stsBroker(config);
  const tags = await resourceTags(config, logger);
  const notifiers = await localNotifiers(config, logger);
  // Chat work runs after the commit, off the caller's path; close() waits for what is in flight.
  const inFlight = new Set<Promise<void>>();
  const track = (work: Promise<void>): void => {
    const settled = work.catch((error: unknown) =>
      logger.error('notifying approvers failed; they can still review through the API', { error }),
    );
    inFlight.add(settled);
    void settled.finally(() => inFlight.delete(settled));
  };
  let notifications: ApprovalNotifications | undefined;
  const service = new ApprovalService({
    store,
    policy,
    clock: systemClock,
    ids: ulidIds(),
    ...(tags
      ? {
          attributes: inventoryThenTags(
            inventoryAttributes(() => policy.directory),
            tags.source,
          ),
        }
      : {}),
    workflow,
    limits: new RateLimits({
      counter,
      clock: systemClock,
      base: config.limits,
      directory: () => policy.directory,
    }),
    ...(credentials ? { credentials } : {}),
    onWorkflowError: (error, request) =>
      logger.error('workflow call failed', { requestId: request.id, error }),
    onAuditMismatch: (request, problems) =>
      logger.error('request record disagrees with its audit chain; refused until investigated', {
        requestId: request.id,
        problems,
      }),
    onCommit: (transition) => {
      hub.publish(transition);
      peers?.send({ t: 'wake', requestId: transition.request.id });
      logCommit(transition);
      if (notifications?.configured) track(notifications.afterCommit(transition, { announce: true }));
    },
  });
  notifications = new ApprovalNotifications({
    store,
    sink: service,
    notifiers,
    directory: () => policy.directory,
    ...(config.review?.baseUrl ? { reviewBaseUrl: config.review.baseUrl } : {}),
    onError: (error, where) =>
      logger.error('notifier failed; approvers can still review through the API', { ...where, error }),
  });
  timers?.attach(service);
  const recovered = timers ? await timers.recover(store) : 0;
  // Cards owed from before a restart (announced once per stage: the audit chain says which went out).
  if (coordinator && notifications.configured) track(announcePending(store, notifications));
  // One Socket Mode connection per gateway: Slack would hand each click to one of them at random.
  const slackConfig =
    !coordinator && config.slack?.appToken
      ? { ...config, slack: { ...config.slack, appToken: undefined } }
      : config;
  const slack = await startLocalSlack(slackConfig, service, replay, logger).catch(async (error: unknown) => {
    timers?.stop();
    tags?.close();
    await store.close();
    counter.close();
    lock.release();
    replay.close();
    throw error;
  });
  const app = createApp({
    service,
    authenticate: bearerTokenAuthenticator(config.principals),
    logger,
    hub,
    ...teamsEndpoint(config),
    review,
    ...(config.review?.baseUrl ? { reviewBaseUrl: config.review.baseUrl } : {}),
    ...(slack ? { slack: slack.endpoint } : {}),
  });
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve(
      {
        fetch: app.fetch,
        port: config.port,
        hostname: config.host,
        serverOptions: serverLimits(config.server),
      },
      () => resolve(s),
    );
    s.once('error', reject);
  }).catch(async (error: unknown) => {
    timers?.stop();
    await slack?.close();
    tags?.close();
    await store.close();
    counter.close();
    lock.release();
    replay.close();
    throw listenError(error, config);
  });
  // Past the cap the kernel's accepted sockets are closed at once: one client cannot hold them all.
  // The cap is the gateway's: workers take equal shares (the primary hands connections out in turn).
  server.maxConnections = Math.ceil(config.server.maxConnections / (peers?.workers ?? 1));
  const port = (server.address() as AddressInfo).port;
  let closed = false;
  return {
    url: `http://${config.host}:${port}`,
    port,
    service,
    workflow,
    notifications,
    recovered,
    close: async () => {
      if (closed) return;
      closed = true;
      timers?.stop();
      await slack?.close();
      await Promise.allSettled([...inFlight]);
      tags?.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        if ('closeAllConnections' in server) server.closeAllConnections();
      });
      credentials?.destroy();
      // Drains the commits in flight and stops the writer thread.
      await store.close();
      counter.close();
      lock.release();
      replay.close();
    },
  };
}

/** Another gateway process counts this data folder's rate limits in a way this one cannot join. */
export class DataDirInUseError extends ConfigError {
  override name = 'DataDirInUseError';
}

/**
 * The rate counter: in memory when this process is the only one serving the data folder (the
 * default single process), else `limits.db`, shared with the other processes (the workers of a
 * cluster, or a single gateway started beside them). The lock beside `limits.db` says which:
 * counting in memory needs it alone, counting in `limits.db` excludes only a process that counts
 * in memory. So the counts are never split between two processes that serve the same principals.
 */
function rateCounter(
  config: LocalConfig,
  clustered: boolean,
): { counter: RateCounter & { close(): void }; lock: LimitsLock } {
  const path = join(config.dataDir, 'limits.lock');
  try {
    if (!clustered) {
      try {
        return { counter: new MemoryRateCounter(), lock: claimLimitsLock(path, 'sole') };
      } catch (error) {
        // Others share limits.db (a cluster on this folder): count with them.
        if (!(error instanceof LimitsLockHeldError)) throw error;
      }
    }
    const lock = claimLimitsLock(path, 'shared');
    try {
      return { counter: new SqliteRateCounter({ path: join(config.dataDir, 'limits.db') }), lock };
    } catch (error) {
      lock.release();
      throw error;
    }
  } catch (error) {
    if (!(error instanceof LimitsLockHeldError)) throw error;
    throw new DataDirInUseError(
      `another gateway process serves the data folder ${config.dataDir} and counts its rate limits in memory; ` +
        'stop that gateway, or give this one a data folder of its own with --data-dir <dir> or the "dataDir" key ' +
        'of the config file',
      { cause: error },
    );
  }
}

/** The Teams messaging endpoint's dependencies, when the config has a Teams bot. */
function teamsEndpoint(config: LocalConfig): { teams?: TeamsInbound } {
  const teams = localTeams(config);
  return teams ? { teams: teams.inbound } : {};
}

/**
 * Node's own limits on slow clients. Its check runs every `connectionsCheckingInterval`, so that is
 * kept well under the shortest timeout: a client is cut off within a second of its deadline.
 */
function serverLimits(limits: LocalConfig['server']): ServerOptions {
  return {
    headersTimeout: limits.headersTimeoutMs,
    // Receiving the request, body included; a long-poll's wait is the answer, not the request.
    requestTimeout: Math.max(limits.requestTimeoutMs, limits.headersTimeoutMs),
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionsCheckingInterval: Math.min(1_000, Math.floor(limits.headersTimeoutMs / 2)),
  };
}

/** Announces every pending request on the channels not yet told (after a restart). */
async function announcePending(store: RequestStore, notifications: ApprovalNotifications): Promise<void> {
  let cursor: string | undefined;
  do {
    const page = await store.listByStatus('pending', { limit: 500, ...(cursor ? { cursor } : {}) });
    for (const request of page.items) {
      await notifications.notify(request.id, 'notify');
      if (request.approval?.escalated) await notifications.notify(request.id, 'escalate');
    }
    cursor = page.cursor;
  } while (cursor);
}

/** The resource tags source the config asks for, if any, with a way to release its client. */
async function resourceTags(
  config: LocalConfig,
  logger: Logger,
): Promise<{ source: ResourceAttributes; close(): void } | undefined> {
  const options = config.resourceTags;
  if (options === undefined) return undefined;
  // Loaded only when configured: the AWS SDK would otherwise add to every local start-up.
  const { createTaggingClient, ResourceTagAttributes } = await import('../adapters/aws/resource-tags.ts');
  const client = await createTaggingClient({
    region: options.region,
    ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
  });
  const source = new ResourceTagAttributes({
    client,
    logger,
    ttlMs: options.ttlSeconds * 1_000,
    timeoutMs: options.timeoutMs,
    ...(options.tagAttributes !== undefined ? { tagAttributes: options.tagAttributes } : {}),
  });
  return { source, close: () => client.destroy() };
}

/** The port cannot be had: says which, and how to choose another (a configuration problem). */
export class PortUnavailableError extends ConfigError {
  override name = 'PortUnavailableError';
}

function listenError(error: unknown, config: LocalConfig): unknown {
  const code = (error as { code?: unknown }).code;
  const where = `port ${config.port} on ${config.host}`;
  const choose =
    'choose another port with --port <n> (0 picks a free one) or the "port" key of the config file ' +
    '(--config or ALA_CONFIG; see docs/local-mode.md)';
  if (code === 'EADDRINUSE') {
    return new PortUnavailableError(
      `${where} is already in use (is another gateway running?); stop that process, or ${choose}`,
    );
  }
  if (code === 'EACCES') {
    return new PortUnavailableError(`${where} needs privileges this user does not have; ${choose}`);
  }
  return error;
}

/** The STS broker when the config asks for one; role names resolve in its partition and account. */
function stsBroker(config: LocalConfig): StsCredentialBroker | undefined {
  const sts = config.credentials?.sts;
  if (!sts) return undefined;
  return new StsCredentialBroker({
    partition: sts.partition,
    accountId: sts.accountId,
    allowedRoleArns: sts.allowedRoles.map((role) => roleArn(role, sts)),
    ...(sts.region ? { region: sts.region } : {}),
    ...(sts.endpoint ? { endpoint: sts.endpoint } : {}),
    ...(sts.useFipsEndpoint !== undefined ? { useFipsEndpoint: sts.useFipsEndpoint } : {}),
  });
}
