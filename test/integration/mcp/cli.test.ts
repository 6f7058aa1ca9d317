/**
 * `ala mcp proxy` and `ala mcp serve` as an MCP client starts them: a process speaking MCP over
 * stdio, against a real local gateway (and server-everything upstream for the proxy).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import {
  type CallToolResult,
  CallToolResultSchema,
  CreateTaskResultSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApprovalsClient } from '../../../client/index.ts';
import { type GatewayProcess, PRINCIPALS, ROOT } from '../../support/gateway-process.ts';
import { MAPPING, startMcpGateway, textOf } from './fixtures.ts';

const EVERYTHING = createRequire(import.meta.url).resolve(
  '@modelcontextprotocol/server-everything/dist/index.js',
);
// The CLI from its sources, as `npm run dev` runs the gateway: `main(argv)` of functions/cli/main.ts.
const CLI = [
  '--import',
  'tsx',
  '--input-type=module',
  '-e',
  "const { main } = await import('./functions/cli/main.ts'); process.exitCode = await main(process.argv.slice(1));",
];

let gateway: GatewayProcess;
let agent: ApprovalsClient;
let erin: ApprovalsClient;

beforeAll(async () => {
  ({ gateway, agent, erin } = await startMcpGateway());
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
});

async function connectCli(args: string[]): Promise<Client> {
  const client = new Client({ name: 'test-agent', version: '1.0.0' });
  await client.connect(
    new StdioClientTransport({
      command: process.execPath,
      args: [...CLI, ...args],
      cwd: ROOT,
      env: {
        ...(process.env as Record<string, string>),
        ALA_URL: gateway.url,
        ALA_TOKEN: PRINCIPALS.agent.token,
      },
      stderr: 'ignore',
    }),
  );
  return client;
}

/** `ala mcp proxy [options] --mapping <the test mapping> -- <server-everything over stdio>`. */
function connectProxyCli(options: string[]): Promise<Client> {
  const dir = mkdtempSync(join(tmpdir(), 'ala-mcp-'));
  writeFileSync(join(dir, 'mapping.json'), JSON.stringify(MAPPING));
  const upstream = [process.execPath, EVERYTHING, 'stdio'];
  return connectCli(['mcp', 'proxy', ...options, '--mapping', join(dir, 'mapping.json'), '--', ...upstream]);
}

describe('ala mcp proxy -- <command>', () => {
  let client: Client;

  beforeAll(async () => {
    client = await connectProxyCli([]);
  }, 60_000);

  afterAll(async () => {
    await client?.close();
  });

  it('serves the upstream tools over stdio and runs an allowed call', async () => {
    const { tools } = await client.listTools();
    expect(tools.map((tool) => tool.name)).toEqual(
      expect.arrayContaining(['echo', 'get-sum', 'wait_for_approval']),
    );
    const result = (await client.callTool({
      name: 'echo',
      arguments: { message: 'through the CLI' },
    })) as CallToolResult;
    expect(textOf(result)).toContain('through the CLI');
    const request = await agent.get(String(result._meta?.['ala/request_id']));
    expect(request).toMatchObject({ status: 'approved', outcome: { status: 'succeeded' } });
  });

  it('answers a denied call with the agent message and runs nothing', async () => {
    const result = (await client.callTool({ name: 'get-env', arguments: {} })) as CallToolResult;
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/^Denied by policy/);
  });
});

describe('ala mcp proxy --tasks', () => {
  let client: Client;

  beforeAll(async () => {
    client = await connectProxyCli(['--tasks']);
  }, 60_000);

  afterAll(async () => {
    await client?.close();
  });

  it('offers the tools as tasks and ends an allowed call sent as a task with its result', async () => {
    const { tools } = await client.listTools();
    expect(tools.find((tool) => tool.name === 'echo')?.execution?.taskSupport).toBe('optional');
    const { task } = await client.request(
      { method: 'tools/call', params: { name: 'echo', arguments: { message: 'a CLI task' }, task: {} } },
      CreateTaskResultSchema,
    );
    const result = (await client.experimental.tasks.getTaskResult(
      task.taskId,
      CallToolResultSchema,
    )) as CallToolResult;
    expect(textOf(result)).toContain('a CLI task');
    expect((await client.experimental.tasks.getTask(task.taskId)).status).toBe('completed');
  });
});

describe('ala mcp proxy --tasks, as the client goes', () => {
  it('exits when standard input closes while a task still waits for its decision', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ala-mcp-'));
    writeFileSync(join(dir, 'mapping.json'), JSON.stringify(MAPPING));
    const child = spawn(
      process.execPath,
      [
        ...CLI,
        'mcp',
        'proxy',
        '--tasks',
        '--mapping',
        join(dir, 'mapping.json'),
        '--',
        process.execPath,
        EVERYTHING,
        'stdio',
      ],
      {
        cwd: ROOT,
        env: { ...process.env, ALA_URL: gateway.url, ALA_TOKEN: PRINCIPALS.agent.token },
        stdio: ['pipe', 'pipe', 'ignore'],
      },
    );
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    /** The JSON-RPC answer with this id, once the proxy has written it. */
    const answered = async (id: number): Promise<Record<string, unknown>> => {
      const deadline = Date.now() + 30_000;
      for (;;) {
        for (const line of output.split('\n')) {
          if (!line.trim()) continue;
          const message = JSON.parse(line) as Record<string, unknown>;
          if (message.id === id) return message;
        }
        if (Date.now() > deadline) throw new Error(`no answer ${id} in: ${output}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    const send = (message: object) => child.stdin?.write(`${JSON.stringify(message)}\n`);
    send({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'test', version: '1' } },
    });
    await answered(1);
    send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    send({
      jsonrpc: '2.0',
      id: 2,
      method: 'tools/call',
      params: { name: 'get-sum', arguments: { a: 20, b: 21 }, task: { ttl: 600_000 } },
    });
    const created = (await answered(2)) as { result?: { task?: { taskId?: string } } };
    const taskId = created.result?.task?.taskId ?? '';
    expect(taskId).not.toBe('');
    // Until the task is in its long-poll for the human decision.
    let requestId: string | undefined;
    for (let id = 3; !requestId; id++) {
      send({ jsonrpc: '2.0', id, method: 'tasks/get', params: { taskId } });
      const task = (await answered(id)) as { result?: { status?: string; statusMessage?: string } };
      expect(task.result?.status).toBe('working');
      requestId = /request (ar_\w+)/.exec(task.result?.statusMessage ?? '')?.[1];
      if (id > 400) throw new Error('the task never waited for a decision');
      if (!requestId) await new Promise((r) => setTimeout(r, 50));
    }
    // The client goes: the proxy stops the task's wait and its timers, and exits on its own.
    child.stdin?.end();
    expect(await exited).toBe(0);
    // Its request stays pending at the gateway (a restarted proxy's repeated call finds it).
    expect((await agent.get(requestId)).status).toBe('pending');
  }, 60_000);
});

describe('ala mcp serve', () => {
  let client: Client;

  beforeAll(async () => {
    client = await connectCli(['mcp', 'serve']);
  }, 60_000);

  afterAll(async () => {
    await client?.close();
  });

  it('lets an agent request, check, redeem once and report through MCP tools', async () => {
    const asked = (await client.callTool({
      name: 'request_action',
      arguments: {
        action: { name: 'mcp.everything.get_sum', args: { a: 1, b: 2 } },
        resource: { type: 'mcp:server', id: 'everything-prod' },
        context: { on_behalf_of: 'user:alice@example.gov' },
      },
    })) as CallToolResult;
    const request = asked.structuredContent as { id: string; status: string; action_hash: string };
    expect(request.status).toBe('pending');

    await erin.decide(request.id, { decision: 'approve', actionHash: request.action_hash });
    const status = (await client.callTool({
      name: 'get_request_status',
      arguments: { request_id: request.id },
    })) as CallToolResult;
    expect(status.structuredContent).toMatchObject({ status: 'approved' });

    const grant = (await client.callTool({
      name: 'redeem_grant',
      arguments: { request_id: request.id },
    })) as CallToolResult;
    expect(grant.isError).toBeFalsy();
    expect(grant.structuredContent).toMatchObject({ request_id: request.id, grant: { type: 'none' } });
    const again = (await client.callTool({
      name: 'redeem_grant',
      arguments: { request_id: request.id },
    })) as CallToolResult;
    expect(again.isError).toBe(true);
    expect(textOf(again)).toContain('grant_already_redeemed');

    const reported = (await client.callTool({
      name: 'report_outcome',
      arguments: { request_id: request.id, status: 'succeeded', detail: 'summed' },
    })) as CallToolResult;
    expect(reported.structuredContent).toMatchObject({ outcome: { status: 'succeeded', detail: 'summed' } });
  });

  it('refuses a malformed request id before asking the gateway', async () => {
    const result = (await client.callTool({
      name: 'get_request_status',
      arguments: { request_id: 'not-an-id' },
    })) as CallToolResult;
    expect(result.isError).toBe(true);
    expect(textOf(result)).toContain('ar_');
  });
});

describe('ala mcp proxy usage', () => {
  it('says how to name the upstream when none is given', () => {
    const result = spawnSync(process.execPath, [...CLI, 'mcp', 'proxy'], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, ALA_URL: gateway.url, ALA_TOKEN: PRINCIPALS.agent.token },
      timeout: 30_000,
    });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('ala mcp proxy -- npx -y <server>');
  });

  it('refuses a mapping file with an unknown key and names it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ala-mcp-'));
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ server: 'everything', tool: {} }));
    const result = spawnSync(
      process.execPath,
      [...CLI, 'mcp', 'proxy', '--mapping', join(dir, 'bad.json'), '--', process.execPath, EVERYTHING],
      {
        cwd: ROOT,
        encoding: 'utf8',
        env: { ...process.env, ALA_TOKEN: PRINCIPALS.agent.token },
        timeout: 30_000,
      },
    );
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/not a valid MCP mapping: .*tool/);
  });
});
