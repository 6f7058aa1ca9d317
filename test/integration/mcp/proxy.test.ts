/**
 * The MCP proxy between the MCP SDK's client and @modelcontextprotocol/server-everything, over
 * stdio and over Streamable HTTP, gated by a real local gateway.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApprovalsClient } from '../../../client/index.ts';
import { REQUEST_ID_META, STATUS_TOOL, WAIT_TOOL } from '../../../functions/mcp/proxy.ts';
import type { GatewayProcess } from '../../support/gateway-process.ts';
import { connectThroughProxy, startMcpGateway, startUpstream, textOf, type Upstream } from './fixtures.ts';

let gateway: GatewayProcess;
let agent: ApprovalsClient;
let erin: ApprovalsClient;

beforeAll(async () => {
  ({ gateway, agent, erin } = await startMcpGateway());
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
});

function requestIdOf(result: CallToolResult): string {
  const id = result._meta?.[REQUEST_ID_META];
  if (typeof id !== 'string') throw new Error(`no request id in ${JSON.stringify(result)}`);
  return id;
}

function resultMeta(result: CallToolResult): Record<string, unknown> {
  return (result._meta?.['ala/result'] ?? {}) as Record<string, unknown>;
}

async function approve(id: string): Promise<void> {
  const view = await erin.get(id);
  await erin.decide(id, { decision: 'approve', actionHash: view.action_hash, comment: 'ok' });
}

describe.each(['stdio', 'http'] as const)('the MCP proxy before server-everything over %s', (kind) => {
  let upstream: Upstream;
  let client: Client;

  beforeAll(async () => {
    upstream = await startUpstream(kind);
    client = await connectThroughProxy(agent, upstream, { callTimeoutMs: 8_000 });
  }, 60_000);

  afterAll(async () => {
    await client?.close();
    await upstream?.close();
  });

  it("lists the upstream's tools unchanged, with the two approval tools beside them", async () => {
    const direct = await upstream.client.listTools();
    const proxied = await client.listTools();
    const names = proxied.tools.map((tool) => tool.name);
    expect(proxied.tools.slice(0, direct.tools.length)).toEqual(direct.tools);
    expect(names.slice(direct.tools.length)).toEqual([STATUS_TOOL, WAIT_TOOL]);
  });

  it('runs an allowed tool once and records that it ran', async () => {
    const before = upstream.calls.length;
    const result = (await client.callTool({
      name: 'echo',
      arguments: { message: 'hello' },
    })) as CallToolResult;
    expect(result.isError).toBeFalsy();
    expect(textOf(result)).toContain('hello');
    expect(upstream.calls.slice(before)).toEqual(['echo']);

    const request = await agent.get(requestIdOf(result));
    expect(request.action).toEqual({ name: 'mcp.everything.echo', args: { message: 'hello' } });
    expect(request.outcome).toMatchObject({ status: 'succeeded', detail: 'approved-executed' });
  });

  it('does not run a denied tool and hands the client the agent message', async () => {
    const before = upstream.calls.length;
    const result = (await client.callTool({ name: 'get-env', arguments: {} })) as CallToolResult;
    expect(result.isError).toBe(true);
    const request = await agent.get(String(resultMeta(result).request_id));
    expect(request.status).toBe('denied');
    expect(request.action.name).toBe('mcp.everything.get_env');
    expect(textOf(result)).toBe(request.agent_message);
    expect(upstream.calls.length).toBe(before);
  });

  it('holds a call that needs approval until a human approves, then runs it once', async () => {
    const before = upstream.calls.length;
    const first = (await client.callTool({ name: 'get-sum', arguments: { a: 2, b: 3 } })) as CallToolResult;
    const id = requestIdOf(first);
    expect(first.structuredContent).toMatchObject({ request_id: id, status: 'pending' });
    expect(textOf(first)).toContain(WAIT_TOOL);

    // Asking again before the approval runs nothing.
    const again = (await client.callTool({ name: 'get-sum', arguments: { a: 2, b: 3 } })) as CallToolResult;
    expect(requestIdOf(again)).toBe(id);
    expect(upstream.calls.length).toBe(before);

    await approve(id);
    const waited = (await client.callTool({
      name: WAIT_TOOL,
      arguments: { request_id: id, timeout_seconds: 5 },
    })) as CallToolResult;
    expect(waited.structuredContent).toMatchObject({ request_id: id, status: 'approved' });

    const ran = (await client.callTool({ name: 'get-sum', arguments: { a: 2, b: 3 } })) as CallToolResult;
    expect(textOf(ran)).toBe('The sum of 2 and 3 is 5.');
    expect(upstream.calls.slice(before)).toEqual(['get-sum']);

    // The approval is spent: the same call again asks anew, and does not run.
    const after = (await client.callTool({
      name: 'get-sum',
      arguments: { a: 2, b: 3 },
      _meta: { [REQUEST_ID_META]: id },
    })) as CallToolResult;
    expect(after.isError).toBe(true);
    expect(textOf(after)).toContain('has run already');
    expect(upstream.calls.slice(before)).toEqual(['get-sum']);
    expect((await agent.get(id)).outcome).toMatchObject({ status: 'succeeded' });
  });

  it('refuses, unexecuted, an approved request called with other arguments', async () => {
    const before = upstream.calls.length;
    const id = requestIdOf(
      (await client.callTool({ name: 'get-sum', arguments: { a: 1, b: 1 } })) as CallToolResult,
    );
    await approve(id);
    const changed = (await client.callTool({
      name: 'get-sum',
      arguments: { a: 1, b: 1000 },
      _meta: { [REQUEST_ID_META]: id },
    })) as CallToolResult;
    expect(changed.isError).toBe(true);
    expect(changed._meta?.['ala/result']).toMatchObject({ request_id: id, reason: 'arguments_differ' });
    // Without the request id, other arguments are another request, which waits for its own approval.
    const other = (await client.callTool({
      name: 'get-sum',
      arguments: { a: 1, b: 1000 },
    })) as CallToolResult;
    expect(requestIdOf(other)).not.toBe(id);
    expect((await agent.get(requestIdOf(other))).status).toBe('pending');
    expect(upstream.calls.length).toBe(before);
    expect((await agent.get(id)).grant?.redeemed_at).toBeUndefined();
  });

  it('runs an approved call once when twenty retries of it arrive at once', async () => {
    const before = upstream.calls.length;
    const args = { a: 20, b: 22 };
    const id = requestIdOf((await client.callTool({ name: 'get-sum', arguments: args })) as CallToolResult);
    await approve(id);
    const results = (await Promise.all(
      Array.from({ length: 20 }, () => client.callTool({ name: 'get-sum', arguments: args })),
    )) as CallToolResult[];
    const ran = results.filter((result) => textOf(result) === 'The sum of 20 and 22 is 42.');
    expect(ran).toHaveLength(1);
    expect(
      results
        .filter((result) => result !== ran[0])
        .every((result) => result.isError || result.structuredContent),
    ).toBe(true);
    expect(upstream.calls.slice(before)).toEqual(['get-sum']);
    const audit = await agent.audit(id);
    expect(audit.events.filter((event) => event.type === 'grant.redeemed')).toHaveLength(1);
    expect(audit.events.filter((event) => event.type === 'action.outcome')).toHaveLength(1);
    expect(audit.verification.ok).toBe(true);
  });

  it('records an execution error when the upstream dies in the middle of a call', async () => {
    const pending = client.callTool({
      name: 'trigger-long-running-operation',
      arguments: { duration: 30, steps: 30 },
    }) as Promise<CallToolResult>;
    // Crash once the call has reached the upstream.
    const deadline = Date.now() + 20_000;
    while (!upstream.calls.includes('trigger-long-running-operation')) {
      if (Date.now() > deadline) throw new Error('the call never reached the upstream');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    upstream.crash();
    const result = await pending;
    expect(result.isError).toBe(true);
    expect(result._meta?.['ala/result']).toMatchObject({ outcome: 'execution-error' });
    const request = await agent.get(String(resultMeta(result).request_id));
    expect(request.action.name).toBe('mcp.everything.trigger_long_running_operation');
    expect(request.outcome?.status).toBe('failed');
    expect(request.outcome?.detail).toMatch(/^execution-error: /);
    const audit = await agent.audit(request.id);
    expect(audit.events.at(-1)).toMatchObject({ type: 'action.outcome' });
  }, 60_000);
});

describe('the MCP proxy without a gateway', () => {
  it('refuses every call and forwards nothing when the gateway cannot be reached', async () => {
    const upstream = await startUpstream('stdio');
    // A port nothing listens on: connection refused, at once.
    const closed = await import('node:net').then(
      ({ createServer }) =>
        new Promise<number>((resolve) => {
          const server = createServer().listen(0, '127.0.0.1', () => {
            const { port } = server.address() as { port: number };
            server.close(() => resolve(port));
          });
        }),
    );
    const unreachable = new ApprovalsClient({
      baseUrl: `http://127.0.0.1:${closed}`,
      token: 'agent-token-0123456789',
      retry: false,
    });
    const client = await connectThroughProxy(unreachable, upstream);
    try {
      const result = (await client.callTool({
        name: 'echo',
        arguments: { message: 'hi' },
      })) as CallToolResult;
      expect(result.isError).toBe(true);
      expect(resultMeta(result)).toEqual({ reason: 'gateway_unreachable' });
      expect(textOf(result)).toContain('nothing ran');
      expect(upstream.calls).toEqual([]);
    } finally {
      await client.close();
      await upstream.close();
    }
  }, 60_000);
});
