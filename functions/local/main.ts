/**
 * `npm start`: the local gateway. Reads the config (--config or ALA_CONFIG, else dev defaults),
 * loads the policy bundle, opens the SQLite store, re-arms pending approvals, and serves the API.
 */
import cluster from 'node:cluster';
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { type Logger, localLogger, logFormat } from '../observability/logger.ts';
import { type PeerLink, processLink, runPrimary, workerStart } from './cluster.ts';
import { ConfigError, demoPrincipals, type LocalConfig, loadConfig } from './config.ts';
import type { RunningGateway } from './gateway.ts';
import type { ReloadResult } from './policy.ts';

const USAGE = `Usage: npm start -- [--config <file>] [--port <n>] [--data-dir <dir>] [--workers <n|auto>]

Runs the Action-Level Approvals gateway locally (SQLite store, local timers).

  --config <file>      gateway configuration (JSON); also ALA_CONFIG. See docs/local-mode.md.
  --port <n>           override the port (0 picks a free one)
  --data-dir <dir>     override where the SQLite database and demo tokens live
  --workers <n|auto>   processes serving the port (default 1; auto: one per core)
  -h, --help           this help`;

/** Demo principals of the default policy data that are in no group; group members are added too. */
const DEMO_PRINCIPALS = [
  'agent:demo-exporter',
  'agent:demo-ops',
  'agent:demo-oncall',
  'user:alice@example.gov',
  'user:oscar@example.gov',
];

export interface MainOptions {
  readonly out?: (line: string) => void;
  /** Install SIGINT/SIGTERM handlers that stop the gateway. @default true */
  readonly handleSignals?: boolean;
}

interface Settings {
  readonly config: LocalConfig;
  readonly demo: boolean;
  /** Processes to run: the config's `workers`, or --workers, with "auto" resolved. */
  readonly workers: number;
}

function readSettings(argv: readonly string[], out: (line: string) => void): Settings {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      config: { type: 'string' },
      port: { type: 'string' },
      'data-dir': { type: 'string' },
      workers: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    out(USAGE);
    process.exit(0);
  }
  const { config: loaded, demo } = loadConfig(values.config ?? process.env.ALA_CONFIG);
  let config: LocalConfig = loaded;
  if (values.port !== undefined) {
    const port = Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new ConfigError(`--port must be a whole number from 0 to 65535, got "${values.port}"`);
    }
    config = { ...config, port };
  }
  if (values['data-dir'] !== undefined) config = { ...config, dataDir: values['data-dir'] };
  if (values.workers !== undefined) {
    const workers = values.workers === 'auto' ? 'auto' : Number(values.workers);
    if (workers !== 'auto' && (!Number.isInteger(workers) || workers < 1 || workers > 64)) {
      throw new ConfigError(
        `--workers must be a whole number from 1 to 64, or auto; got "${values.workers}"`,
      );
    }
    config = { ...config, workers };
  }
  const workers = config.workers === 'auto' ? Math.min(64, availableParallelism()) : config.workers;
  return { config, demo, workers };
}

function mainLogger(config: LocalConfig): Logger {
  // Readable lines on a terminal, JSON lines for anything that collects them (LOG_FORMAT overrides).
  return localLogger({
    level: config.logLevel,
    format: logFormat(process.env, process.stdout.isTTY === true),
  });
}

/**
 * The gateway in this process, whatever the `workers` setting says: tests start it in-process
 * this way. `npm start` goes through `run`, which starts several processes when asked.
 */
export async function main(argv: readonly string[], options: MainOptions = {}): Promise<RunningGateway> {
  const out = options.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const settings = readSettings(argv, out);
  return serve(settings, mainLogger(settings.config), out, options.handleSignals ?? true);
}

/** `npm start`: one process, or a primary and its workers (config `workers`, --workers). */
export async function run(argv: readonly string[]): Promise<void> {
  const out = (line: string) => process.stdout.write(`${line}\n`);
  if (cluster.isWorker) {
    await runWorker(argv);
    return;
  }
  const settings = readSettings(argv, out);
  if (settings.workers <= 1) {
    await serve(settings, mainLogger(settings.config), out, true);
    return;
  }
  const code = await runPrimary({
    workers: settings.workers,
    logger: mainLogger(settings.config),
    out,
    // One cookie key for every worker (the config's review.sessionSecret, when set, wins).
    sessionSecret: randomBytes(32).toString('base64url'),
  });
  process.exit(code);
}

/** A worker of `run`: serves, tells the primary it is ready, and stops when the primary says so. */
async function runWorker(argv: readonly string[]): Promise<void> {
  const start = workerStart();
  const peers = processLink(start);
  const settings = readSettings(argv, () => undefined);
  let gateway: ServedGateway | undefined;
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    // Asked to stop while starting: nothing is served yet, and SQLite undoes a half-done write.
    if (!gateway) process.exit(0);
    gateway.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  peers.onMessage((message) => {
    if (message.t === 'reload' && gateway) {
      void gateway
        .reload(message.trigger, message.digest)
        .then((result) => peers.send({ t: 'reloaded', trigger: message.trigger, result }));
    }
  });
  // The primary stops its workers with SIGTERM; a terminal's Ctrl-C reaches every process of the
  // group: either way each finishes its own work.
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  // The primary relays SIGHUP to the coordinator, then the others (one bundle for all).
  process.on('SIGHUP', () => undefined);
  let banner = '';
  gateway = await serve(
    settings,
    mainLogger(settings.config),
    (line) => {
      banner = line;
    },
    false,
    { peers, sessionSecret: start.sessionSecret, ...(start.digest ? { digest: start.digest } : {}) },
  );
  peers.send({ t: 'ready', banner, digest: gateway.digest });
}

interface ServedGateway extends RunningGateway {
  readonly digest: string;
  reload(trigger: string, digest?: string): Promise<ReloadResult>;
}

async function serve(
  settings: Settings,
  logger: Logger,
  out: (line: string) => void,
  handleSignals: boolean,
  cluster?: { readonly peers: PeerLink; readonly sessionSecret: string; readonly digest?: string },
): Promise<ServedGateway> {
  // Loaded here, not at the top: a primary serves nothing and starts without the application.
  const [{ startGateway }, { loadLocalPolicy }] = await Promise.all([
    import('./gateway.ts'),
    import('./policy.ts'),
  ]);
  let config = settings.config;
  const demo = settings.demo;
  const local = await loadLocalPolicy(config, demo, logger, cluster?.digest);
  const policy = local.policy;
  if (demo) {
    const people = new Set(Object.values(policy.directory.groups).flat());
    config = {
      ...config,
      principals: demoPrincipals(config.dataDir, [...DEMO_PRINCIPALS, ...[...people].sort()]),
    };
  }
  const peers = cluster?.peers;
  const started = await startGateway(config, policy, logger, {
    ...(peers ? { peers, sessionSecret: cluster.sessionSecret } : {}),
  }).catch(async (error: unknown) => {
    await local.close();
    throw error;
  });
  const gateway: ServedGateway = {
    ...started,
    get digest() {
      return policy.digest;
    },
    reload: (trigger, digest) => local.reload(trigger, digest ? { digest } : {}),
    close: async () => {
      await started.close();
      await local.close();
    },
  };
  // One watcher per gateway: the coordinator's; the primary has the others follow its reloads.
  if (config.policy.watch && (peers?.coordinator ?? true)) {
    local.watch((result) => peers?.send({ t: 'reloaded', trigger: 'file change', result }));
  }

  // One write, so a reader that waits for the first line sees the whole banner.
  const banner = [
    `Action-Level Approvals gateway listening on ${gateway.url}`,
    `  store     ${config.dataDir}/gateway.db (${gateway.recovered} pending approval(s) re-armed)`,
    `  policy    ${config.policy.wasm} (${policy.digest}, signature ${local.signature})`,
    ...(policy.shadowDigest ? [`  shadow    ${config.policy.shadow?.wasm} (${policy.shadowDigest})`] : []),
    `  openapi   ${gateway.url}/v1/openapi.json`,
  ];
  if (demo) {
    banner.push(
      `  demo mode: tokens below are for this machine only (kept in ${join(config.dataDir, 'demo-tokens.json')})`,
    );
    for (const p of config.principals) banner.push(`    ${p.id.padEnd(32)} ${p.token}`);
  } else {
    banner.push(`  ${config.principals.length} principal(s) from the config file`);
  }
  out(banner.join('\n'));

  if (handleSignals) {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) process.exit(1);
      stopping = true;
      logger.info('stopping', { signal });
      gateway.close().then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error('stop failed', { error });
          process.exit(1);
        },
      );
    };
    // SIGHUP reloads the bundle; the reload logs its outcome (a refused one keeps the old bundle).
    process.on('SIGHUP', () => void local.reload('SIGHUP'));
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
  }
  return gateway;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  run(process.argv.slice(2)).catch((error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`error: ${message}\n`);
    process.exit(2);
  });
}
