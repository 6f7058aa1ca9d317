/**
 * `ala mcp proxy` and `ala mcp serve`: MCP over stdio (docs/mcp.md). Standard output is the MCP
 * channel, so these commands write only to stderr.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { EXIT, UsageError } from '../errors.ts';
import { type Runtime, run } from '../runtime.ts';

interface ProxyOptions {
  readonly upstream?: string;
  readonly header?: string[];
  readonly name?: string;
  readonly mapping?: string;
  readonly tasks?: boolean;
}

function collectHeader(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function registerMcpCommands(program: Command, runtime: Runtime): void {
  const mcp = program
    .command('mcp')
    .summary('MCP: gate an MCP server through the gateway, or serve the gateway as MCP tools')
    .description('Model Context Protocol over stdio: `ala mcp proxy` and `ala mcp serve` (docs/mcp.md).');

  mcp
    .command('proxy')
    .summary("expose an MCP server's tools with every call checked by the gateway")
    .description(
      'Start the upstream MCP server (the command after --), or connect to it with --upstream <url>\n' +
        '(Streamable HTTP), and serve its tools unchanged over stdio. Every tools/call is an action\n' +
        'request mcp.<server>.<tool> (arguments as action.args): allowed calls run once, denied ones\n' +
        'return the agent_message, ones needing approval return a pending result; the same call repeated\n' +
        'after approval runs once. Uses ALA_URL and ALA_TOKEN (the agent). Runs until stdin closes.\n' +
        'Example: ala mcp proxy --name files -- npx -y @modelcontextprotocol/server-filesystem /srv/data',
    )
    .argument('[command...]', 'the upstream server command and its arguments, after --')
    .option('--upstream <url>', 'a Streamable HTTP MCP endpoint instead of a command')
    .option('--header <name:value>', 'an HTTP header for --upstream (repeatable)', collectHeader)
    .option('--name <server>', "the <server> of action names (default: the upstream's own name)")
    .option('--mapping <file>', 'a JSON mapping of tools to actions and resources (docs/mcp.md#mapping)')
    .option(
      '--tasks',
      'offer MCP Tasks (experimental): a call sent as a task ends with the result once approved (docs/mcp.md#tasks)',
    )
    .action(
      run(runtime, async (command: string[], options: ProxyOptions) => {
        const spec = upstreamSpec(command, options);
        const mapping = options.mapping !== undefined ? await readMapping(runtime, options.mapping) : {};
        const client = runtime.client();
        const [
          { createMcpProxy },
          { connectUpstream, upstreamTransport },
          { serverSlug },
          { StdioServerTransport },
        ] = await Promise.all([
          import('../../mcp/proxy.ts'),
          import('../../mcp/upstream.ts'),
          import('../../mcp/mapping.ts'),
          import('@modelcontextprotocol/sdk/server/stdio.js'),
        ]);
        let transport: ReturnType<typeof upstreamTransport>;
        try {
          transport = upstreamTransport(spec);
        } catch (error) {
          throw new UsageError((error as Error).message);
        }
        const upstream = await connectUpstream(transport).catch((error: unknown) => {
          throw new UsageError(
            `could not connect to the upstream MCP server (${'url' in spec ? spec.url : spec.command}): ${(error as Error).message}`,
          );
        });
        const server =
          options.name ?? mapping.server ?? serverSlug(upstream.getServerVersion()?.name ?? 'upstream');
        const proxy = createMcpProxy({
          gateway: client,
          upstream,
          server,
          mapping,
          ...(options.tasks ? { tasks: true } : {}),
          log: (line) => runtime.io.stderr.write(`ala mcp proxy: ${line}\n`),
        });
        runtime.io.stderr.write(
          `ala mcp proxy: serving the tools of ${server} over stdio, gated by ${runtime.url}\n`,
        );
        await serveUntilClosed(proxy, new StdioServerTransport());
        // Stops the tasks' background waits and their timers, or they would hold the process.
        await proxy.close();
        await upstream.close();
        return EXIT.ok;
      }),
    );

  mcp
    .command('serve')
    .summary("serve the gateway's operations as MCP tools over stdio")
    .description(
      'An MCP server over stdio whose tools are the gateway: request_action, get_request_status,\n' +
        'redeem_grant, report_outcome, called as the agent of ALA_TOKEN. Runs until stdin closes.',
    )
    .action(
      run(runtime, async () => {
        const client = runtime.client();
        const [{ createGatewayMcpServer }, { StdioServerTransport }] = await Promise.all([
          import('../../mcp/server.ts'),
          import('@modelcontextprotocol/sdk/server/stdio.js'),
        ]);
        const server = createGatewayMcpServer(client);
        runtime.io.stderr.write(`ala mcp serve: the gateway ${runtime.url} as MCP tools over stdio\n`);
        await serveUntilClosed(server, new StdioServerTransport());
        return EXIT.ok;
      }),
    );
}

function upstreamSpec(
  command: string[],
  options: ProxyOptions,
): { command: string; args: string[] } | { url: string; headers?: Record<string, string> } {
  if (options.upstream !== undefined && command.length > 0) {
    throw new UsageError('give either --upstream <url> or an upstream command after --, not both');
  }
  if (options.upstream !== undefined) {
    const headers: Record<string, string> = {};
    for (const header of options.header ?? []) {
      const colon = header.indexOf(':');
      if (colon <= 0) throw new UsageError(`--header must be name:value; got ${JSON.stringify(header)}`);
      headers[header.slice(0, colon).trim()] = header.slice(colon + 1).trim();
    }
    return { url: options.upstream, ...(Object.keys(headers).length ? { headers } : {}) };
  }
  const [executable, ...args] = command;
  if (executable === undefined) {
    throw new UsageError(
      'say which MCP server to proxy: a command after -- (ala mcp proxy -- npx -y <server>) or --upstream <url>',
    );
  }
  return { command: executable, args };
}

async function readMapping(runtime: Runtime, file: string) {
  const { parseMapping } = await import('../../mcp/mapping.ts');
  const path = resolve(runtime.io.cwd, file);
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new UsageError(`--mapping ${file}: cannot read it as JSON (${(error as Error).message})`);
  }
  try {
    return parseMapping(value, `--mapping ${file}`);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** Serves until the client closes the channel (stdin ends). */
async function serveUntilClosed(
  server: { connect(transport: never): Promise<void> },
  transport: { onclose?: (() => void) | undefined },
): Promise<void> {
  const closed = new Promise<void>((resolveClosed) => {
    process.stdin.once('end', resolveClosed);
    process.stdin.once('close', resolveClosed);
  });
  await server.connect(transport as never);
  await closed;
}
