/**
 * `ala`, the command line of the Action-Level Approvals gateway. `main(argv, io)` runs one command
 * and resolves with its exit code; it never calls `process.exit`, so tests run it in-process.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { packageRoot } from '../local/package-root.ts';
import { registerAuditCommands } from './commands/audit.ts';
import { registerMcpCommands } from './commands/mcp.ts';
import { registerPolicyCommands } from './commands/policy.ts';
import { registerRequestCommands } from './commands/requests.ts';
import { registerServeCommand } from './commands/serve.ts';
import { registerWhoamiCommand } from './commands/whoami.ts';
import { describeError, EXIT } from './errors.ts';
import { type CliIo, processIo } from './io.ts';
import { DEFAULT_URL, type GlobalOptions, Runtime } from './runtime.ts';

const HELP_FOOTER = `
Environment:
  ALA_URL     gateway URL (default ${DEFAULT_URL}); --url overrides it
  ALA_TOKEN   bearer token; --token overrides it (prefer the variable: flags end up in shell history)

Exit codes:
  0  done (request --wait: approved)
  1  refused or failed: denied, rejected, expired, cancelled, 401/403/404/409, gateway unreachable,
     broken audit chain
  2  usage or input error: bad option or argument, unreadable or invalid file, 400/413/415 from the gateway
  3  request --wait: still pending when the wait ran out
  4  approve/reject: you had cast the same vote already; nothing new was recorded`;

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

export function buildProgram(runtime: Runtime): Command {
  const { io } = runtime;
  const program = new Command('ala');
  program
    .description(
      'Action-Level Approvals: submit, review, redeem and audit action requests on the approvals gateway.',
    )
    .version(version(), '-V, --version', 'print the version')
    .addOption(new Option('--url <url>', `gateway URL (env ALA_URL, default ${DEFAULT_URL})`))
    .addOption(new Option('--token <token>', 'bearer token (env ALA_TOKEN)'))
    .option('--json', 'print machine-readable JSON (request --wait: JSON Lines; errors as JSON on stderr)')
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      getOutHelpWidth: () => io.stdout.columns ?? 100,
      getErrHelpWidth: () => io.stderr.columns ?? 100,
      getOutHasColors: () => false,
      getErrHasColors: () => false,
    })
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', HELP_FOOTER)
    .hook('preAction', (_program, actionCommand) => {
      runtime.setGlobals(actionCommand.optsWithGlobals<GlobalOptions>());
    });

  registerServeCommand(program, runtime);
  registerRequestCommands(program, runtime);
  registerAuditCommands(program, runtime);
  registerPolicyCommands(program, runtime);
  registerWhoamiCommand(program, runtime);
  registerMcpCommands(program, runtime);
  return program;
}

/** Runs one command line (without `node` and the script) and resolves with the exit code. */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  const runtime = new Runtime(io);
  const program = buildProgram(runtime);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return runtime.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version asked for exit 0; help shown because something was missing is a usage error.
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    const report = describeError(error, { url: runtime.url, tokenGiven: runtime.token !== undefined });
    io.stderr.write(runtime.json ? `${JSON.stringify(report.json)}\n` : `ala: ${report.message}\n`);
    return report.exitCode;
  }
}
