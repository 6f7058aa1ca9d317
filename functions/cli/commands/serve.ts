/** `ala serve`: the local gateway as `npm start` runs it, in one process (no `workers`). */
import type { Command } from 'commander';
import { EXIT, UsageError } from '../errors.ts';
import { parseCount } from '../input.ts';
import { type Runtime, run } from '../runtime.ts';

interface ServeOptions {
  readonly config?: string;
  readonly port?: number;
  readonly dataDir?: string;
}

export function registerServeCommand(program: Command, runtime: Runtime): void {
  program
    .command('serve')
    .summary('run the local gateway (same as npm start)')
    .description(
      'Run the gateway on this machine: the same HTTP API as on AWS, an embedded SQLite store and the\n' +
        'policy bundle of the configuration (docs/design.md#5-local-mode). Without --config or ALA_CONFIG, a development\n' +
        'configuration is used and demo tokens are printed. Runs until Ctrl-C (SIGINT) or SIGTERM.\n' +
        'One process: the config\'s "workers" applies to npm start (docs/local-mode.md#workers).',
    )
    .option('--config <path>', 'local configuration JSON file (env ALA_CONFIG)')
    .option('--port <n>', 'override the port; 0 picks a free one', (value: string) =>
      parseCount(value, '--port', 0, 65535),
    )
    .option('--data-dir <dir>', 'override where the SQLite database and demo tokens live')
    .action(
      run(runtime, async (options: ServeOptions) => {
        // Loaded only here, so the other commands never pay for SQLite and the policy wasm.
        const [{ main: startLocalGateway }, { ConfigError }] = await Promise.all([
          import('../../local/main.ts'),
          import('../../local/config.ts'),
        ]);
        const args = [
          ...(options.config !== undefined ? ['--config', options.config] : []),
          ...(options.port !== undefined ? ['--port', String(options.port)] : []),
          ...(options.dataDir !== undefined ? ['--data-dir', options.dataDir] : []),
        ];
        try {
          // The gateway keeps the process alive; its own SIGINT/SIGTERM handlers stop it.
          await startLocalGateway(args, { out: (line) => runtime.print(line) });
        } catch (error) {
          // A busy port is a ConfigError too: the gateway names the port and how to pick another.
          if (error instanceof ConfigError) throw new UsageError(error.message);
          throw error;
        }
        return EXIT.ok;
      }),
    );
}
