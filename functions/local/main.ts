/**
 * `npm start`: the local gateway. Reads the config (--config or ALA_CONFIG, else dev defaults),
 * loads the policy bundle, opens the SQLite store, re-arms pending approvals, and serves the API.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { localLogger, logFormat } from '../observability/logger.ts';
import { ConfigError, demoPrincipals, type LocalConfig, loadConfig } from './config.ts';
import { type RunningGateway, startGateway } from './gateway.ts';
import { loadLocalPolicy } from './policy.ts';

const USAGE = `Usage: npm start -- [--config <file>] [--port <n>] [--data-dir <dir>]

Runs the Action-Level Approvals gateway locally (SQLite store, in-process timers).

  --config <file>    gateway configuration (JSON); also ALA_CONFIG. See docs/local-mode.md.
  --port <n>         override the port (0 picks a free one)
  --data-dir <dir>   override where the SQLite database and demo tokens live
  -h, --help         this help`;

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

export async function main(argv: readonly string[], options: MainOptions = {}): Promise<RunningGateway> {
  const out = options.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const { values } = parseArgs({
    args: [...argv],
    options: {
      config: { type: 'string' },
      port: { type: 'string' },
      'data-dir': { type: 'string' },
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

  // Readable lines on a terminal, JSON lines for anything that collects them (LOG_FORMAT overrides).
  const logger = localLogger({
    level: config.logLevel,
    format: logFormat(process.env, process.stdout.isTTY === true),
  });
  const local = await loadLocalPolicy(config, demo, logger);
  const policy = local.policy;
  if (demo) {
    const people = new Set(Object.values(policy.directory.groups).flat());
    config = {
      ...config,
      principals: demoPrincipals(config.dataDir, [...DEMO_PRINCIPALS, ...[...people].sort()]),
    };
  }
  const started = await startGateway(config, policy, logger).catch(async (error: unknown) => {
    await local.close();
    throw error;
  });
  const gateway: RunningGateway = {
    ...started,
    close: async () => {
      await started.close();
      await local.close();
    },
  };
  if (config.policy.watch) local.watch();

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

  if (options.handleSignals ?? true) {
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
  main(process.argv.slice(2)).catch((error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`error: ${message}\n`);
    process.exit(2);
  });
}
