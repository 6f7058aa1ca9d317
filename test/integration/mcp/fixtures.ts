/**
 * What the MCP tests share: a real local gateway whose policy data covers three tools of
 * @modelcontextprotocol/server-everything, the upstream over stdio or Streamable HTTP with every
 * `tools/call` it receives counted on the wire, and the proxy between them.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ApprovalsClient } from '../../../client/index.ts';
import type { Mapping } from '../../../functions/mcp/mapping.ts';
import { createMcpProxy } from '../../../functions/mcp/proxy.ts';
import { gatewayConfig, PRINCIPALS, ROOT, startGatewayProcess } from '../../support/gateway-process.ts';

/** A platform approver: `read_only_prod` needs one vote from the platform group. */
export const ERIN = { id: 'user:erin@example.gov', token: 'e2e-erin-token-0123456789' } as const;

/** echo and the long-running tool are allowed; get-sum on the production resource needs approval; the rest is denied. */
export const MAPPING: Mapping = {
  server: 'everything',
  tools: { 'get-sum': { resource: { type: 'mcp:server', id: 'everything-prod' } } },
  context: { on_behalf_of: 'user:alice@example.gov', justification: 'MCP proxy test' },
};

export async function startMcpGateway() {
  const config = gatewayConfig(
    (data) => {
      const readOnly = data.read_only as { actions: string[] };
      readOnly.actions.push(
        'mcp.everything.echo',
        'mcp.everything.get_sum',
        'mcp.everything.trigger_long_running_operation',
      );
      // `everything` is a development server (allowed reads); `everything-prod` is not vouched: production.
      (data.inventory as unknown[]).unshift({ match: 'everything', attributes: { environment: 'dev' } });
    },
    'warn',
    { principals: [...Object.values(PRINCIPALS), ERIN] },
  );
  const gateway = await startGatewayProcess(config);
  const client = (token: string) => new ApprovalsClient({ baseUrl: gateway.url, token, retry: false });
  return {
    gateway,
    agent: client(PRINCIPALS.agent.token),
    erin: client(ERIN.token),
  };
}

const EVERYTHING = createRequire(import.meta.url).resolve(
  '@modelcontextprotocol/server-everything/dist/index.js',
);

export interface Upstream {
  readonly client: Client;
  /** Names of the tools/call requests the upstream received, in order. */
  readonly calls: string[];
  /** Kills the upstream process (a crash). */
  crash(): void;
  close(): Promise<void>;
}

/** Counts what goes over the wire to the upstream. */
function counting(transport: Transport, calls: string[]): Transport {
  const send = transport.send.bind(transport);
  transport.send = (message, options) => {
    if ('method' in message && message.method === 'tools/call') {
      calls.push(String((message.params as { name?: unknown } | undefined)?.name));
    }
    return send(message, options);
  };
  return transport;
}

export async function startUpstream(kind: 'stdio' | 'http'): Promise<Upstream> {
  const calls: string[] = [];
  const client = new Client({ name: 'ala-mcp-proxy', version: '0.1.0' });
  if (kind === 'stdio') {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [EVERYTHING, 'stdio'],
      stderr: 'ignore',
    });
    await client.connect(counting(transport, calls));
    return {
      client,
      calls,
      crash: () => {
        if (transport.pid) process.kill(transport.pid, 'SIGKILL');
      },
      close: () => client.close(),
    };
  }
  const child: ChildProcess = spawn(process.execPath, ['test/support/everything-http.mjs'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let output = '';
    const timer = setTimeout(
      () => reject(new Error(`server-everything did not listen in 30 s: ${output}`)),
      30_000,
    );
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (\S+)/.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.once('exit', (code) => reject(new Error(`server-everything exited with ${code}: ${output}`)));
  });
  await client.connect(counting(new StreamableHTTPClientTransport(new URL(url)), calls));
  return {
    client,
    calls,
    crash: () => child.kill('SIGKILL'),
    close: async () => {
      await client.close().catch(() => {});
      child.kill('SIGKILL');
    },
  };
}

/** The proxy in this process, and the MCP client an agent would use, linked in memory. */
export async function connectThroughProxy(
  gateway: ApprovalsClient,
  upstream: Upstream,
  options: { callTimeoutMs?: number; tasks?: boolean; log?: (line: string) => void } = {},
): Promise<Client> {
  const proxy = createMcpProxy({
    gateway,
    upstream: upstream.client,
    server: 'everything',
    mapping: MAPPING,
    ...options,
  });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await proxy.connect(serverSide);
  const client = new Client({ name: 'test-agent', version: '1.0.0' });
  await client.connect(clientSide);
  return client;
}

/** The text of a tool result's first content block. */
export function textOf(result: { content?: unknown }): string {
  const [first] = (result.content ?? []) as { type: string; text?: string }[];
  return first?.type === 'text' ? (first.text ?? '') : '';
}
