/**
 * MCP Tasks through the proxy (`tasks: true`): calls sent as tasks by the MCP SDK's client, gated
 * by a real local gateway, before @modelcontextprotocol/server-everything over stdio.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import {
  type CallToolResult,
  CallToolResultSchema,
  CreateTaskResultSchema,
  ErrorCode,
  type GetTaskResult,
  McpError,
} from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApprovalsClient, ApprovalsError } from '../../../client/index.ts';
import { createMcpProxy, REQUEST_ID_META, STATUS_TOOL, WAIT_TOOL } from '../../../functions/mcp/proxy.ts';
import type { GatewayProcess } from '../../support/gateway-process.ts';
import {
  connectThroughProxy,
  MAPPING,
  startMcpGateway,
  startUpstream,
  textOf,
  type Upstream,
} from './fixtures.ts';

let gateway: GatewayProcess;
let agent: ApprovalsClient;
let erin: ApprovalsClient;
let upstream: Upstream;
let client: Client;

beforeAll(async () => {
  ({ gateway, agent, erin } = await startMcpGateway());
  upstream = await startUpstream('stdio');
  client = await connectThroughProxy(agent, upstream, { callTimeoutMs: 8_000, tasks: true });
}, 60_000);

afterAll(async () => {
  await client?.close();
  await upstream?.close();
  await gateway?.stop();
});

/** Sends a tools/call as a task; answers the task the proxy made for it. */
async function callAsTask(name: string, args: Record<string, unknown>, ttl?: number) {
  const created = await client.request(
    { method: 'tools/call', params: { name, arguments: args, task: ttl === undefined ? {} : { ttl } } },
    CreateTaskResultSchema,
  );
  return created.task;
}

/** Polls tasks/get until `done` holds (or 20 s pass). */
async function taskUntil(
  taskId: string,
  done: (task: GetTaskResult) => boolean,
  on: Client = client,
): Promise<GetTaskResult> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const task = await on.experimental.tasks.getTask(taskId);
    if (done(task)) return task;
    if (Date.now() > deadline) throw new Error(`task ${taskId} is still ${JSON.stringify(task)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The request a task awaits, from its status message, once it says it awaits a decision. */
async function awaitedRequest(taskId: string, on: Client = client): Promise<string> {
  const task = await taskUntil(taskId, (t) => /request (ar_\w+)/.test(t.statusMessage ?? ''), on);
  expect(task.status).toBe('working');
  return /request (ar_\w+)/.exec(task.statusMessage ?? '')?.[1] ?? '';
}

/** Waits for the task to end, expects it `failed`, and answers its result. */
async function failedResult(taskId: string): Promise<CallToolResult> {
  const ended = await taskUntil(taskId, (t) => t.status !== 'working');
  expect(ended.status).toBe('failed');
  return (await client.experimental.tasks.getTaskResult(taskId, CallToolResultSchema)) as CallToolResult;
}

async function decide(id: string, decision: 'approve' | 'reject'): Promise<void> {
  const view = await erin.get(id);
  await erin.decide(id, { decision, actionHash: view.action_hash, comment: `${decision} in a test` });
}

/** Polls `done` until it holds (or 20 s pass). */
async function until(done: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error('gave up waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function statusOf(id: string, wanted: string): Promise<string> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const { status } = await agent.get(id);
    if (status === wanted || Date.now() > deadline) return status;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('the MCP proxy with tasks', () => {
  it("offers the upstream's tools as tasks ('optional') and leaves its own two tools plain", async () => {
    const direct = await upstream.client.listTools();
    const proxied = await client.listTools();
    const upstreamPart = proxied.tools.slice(0, direct.tools.length);
    expect(upstreamPart.map((tool) => ({ ...tool, execution: undefined }))).toEqual(
      direct.tools.map((tool) => ({ ...tool, execution: undefined })),
    );
    // What the upstream runs only as a task stays so (the proxy calls it plainly); the rest is optional.
    direct.tools.forEach((tool, i) => {
      expect(upstreamPart[i]?.execution?.taskSupport).toBe(
        tool.execution?.taskSupport === 'required' ? 'required' : 'optional',
      );
    });
    expect(upstreamPart.filter((tool) => tool.execution?.taskSupport === 'optional').length).toBeGreaterThan(
      3,
    );
    const own = proxied.tools.slice(direct.tools.length);
    expect(own.map((tool) => tool.name)).toEqual([STATUS_TOOL, WAIT_TOOL]);
    for (const tool of own) expect(tool.execution).toBeUndefined();
  });

  it('ends the task of an allowed call with its result, run once', async () => {
    const before = upstream.calls.length;
    const task = await callAsTask('echo', { message: 'as a task' });
    const result = (await client.experimental.tasks.getTaskResult(
      task.taskId,
      CallToolResultSchema,
    )) as CallToolResult;
    expect(textOf(result)).toContain('as a task');
    expect((await client.experimental.tasks.getTask(task.taskId)).status).toBe('completed');
    expect(upstream.calls.slice(before)).toEqual(['echo']);
    const request = await agent.get(String(result._meta?.[REQUEST_ID_META]));
    expect(request.outcome).toMatchObject({ status: 'succeeded', detail: 'approved-executed' });
  });

  it('waits for the human decision itself, then runs the call once and ends the task with its result', async () => {
    const before = upstream.calls.length;
    const task = await callAsTask('get-sum', { a: 4, b: 5 });
    const id = await awaitedRequest(task.taskId);
    expect((await agent.get(id)).status).toBe('pending');
    expect(upstream.calls.length).toBe(before);

    // tasks/result blocks until the task ends: asked before the approval, it answers after it.
    const waiting = client.experimental.tasks.getTaskResult(task.taskId, CallToolResultSchema, {
      timeout: 30_000,
    });
    await decide(id, 'approve');
    const result = (await waiting) as CallToolResult;
    expect(textOf(result)).toBe('The sum of 4 and 5 is 9.');
    expect(result._meta?.[REQUEST_ID_META]).toBe(id);
    expect((await client.experimental.tasks.getTask(task.taskId)).status).toBe('completed');
    expect(upstream.calls.slice(before)).toEqual(['get-sum']);
    const request = await agent.get(id);
    expect(request.grant?.redeemed_at).toBeTruthy();
    expect(request.outcome).toMatchObject({ status: 'succeeded' });
  }, 60_000);

  it('fails the task of a rejected call with the agent message, and runs nothing', async () => {
    const before = upstream.calls.length;
    const task = await callAsTask('get-sum', { a: 6, b: 7 });
    const id = await awaitedRequest(task.taskId);
    await decide(id, 'reject');
    const result = await failedResult(task.taskId);
    expect(result.isError).toBe(true);
    expect(textOf(result)).toBe((await agent.get(id)).agent_message);
    expect(upstream.calls.length).toBe(before);
  }, 60_000);

  it('fails the task of a denied call at once, and runs nothing', async () => {
    const before = upstream.calls.length;
    const task = await callAsTask('get-env', {});
    const result = await failedResult(task.taskId);
    const id = String((result._meta?.['ala/result'] as { request_id?: unknown } | undefined)?.request_id);
    expect((await agent.get(id)).status).toBe('denied');
    expect(upstream.calls.length).toBe(before);
  });

  it('withdraws the pending request of a task the client cancels; an approval can no longer run it', async () => {
    const before = upstream.calls.length;
    const task = await callAsTask('get-sum', { a: 8, b: 9 });
    const id = await awaitedRequest(task.taskId);
    const cancelled = await client.experimental.tasks.cancelTask(task.taskId);
    expect(cancelled.status).toBe('cancelled');
    expect(await statusOf(id, 'cancelled')).toBe('cancelled');
    await expect(decide(id, 'approve')).rejects.toThrow();
    expect((await client.experimental.tasks.getTask(task.taskId)).status).toBe('cancelled');
    // The same call again asks anew: the withdrawn request is not bound to it any more.
    const again = (await client.callTool({ name: 'get-sum', arguments: { a: 8, b: 9 } })) as CallToolResult;
    expect(again.structuredContent).toMatchObject({ status: 'pending' });
    expect(again._meta?.[REQUEST_ID_META]).not.toBe(id);
    expect(upstream.calls.length).toBe(before);
  }, 60_000);

  it('withdraws the pending request of a task whose time to live runs out', async () => {
    const before = upstream.calls.length;
    const task = await callAsTask('get-sum', { a: 10, b: 11 }, 10_000);
    const id = await awaitedRequest(task.taskId);
    expect(await statusOf(id, 'cancelled')).toBe('cancelled');
    await expect(client.experimental.tasks.getTask(task.taskId)).rejects.toThrow(/not found/i);
    expect(upstream.calls.length).toBe(before);
  }, 60_000);

  it('answers a call sent without a task as before: a pending result', async () => {
    const result = (await client.callTool({ name: 'get-sum', arguments: { a: 1, b: 2 } })) as CallToolResult;
    expect(result.structuredContent).toMatchObject({ status: 'pending' });
    expect(textOf(result)).toContain(WAIT_TOOL);
  });

  it('refuses, as the specification asks, a task for a tool not offered as one', async () => {
    for (const name of [WAIT_TOOL, 'no-such-tool']) {
      const refused = await callAsTask(name, { request_id: 'ar_x' }).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(refused).toBeInstanceOf(McpError);
      expect(refused).toMatchObject({ code: ErrorCode.MethodNotFound });
      expect(String(refused)).toContain('not offered as a task');
    }
  });

  it('refuses a tool its server runs only as a task, before asking for any approval', async () => {
    const before = upstream.calls.length;
    // Sent as a plain tools/call (the SDK's callTool would refuse it on the client's side).
    const result = (await client.request(
      { method: 'tools/call', params: { name: 'simulate-research-query', arguments: { topic: 'x' } } },
      CallToolResultSchema,
    )) as CallToolResult;
    expect(result.isError).toBe(true);
    expect(result._meta?.['ala/result']).toMatchObject({ reason: 'upstream_task_required' });
    expect(result._meta?.['ala/result']).not.toHaveProperty('request_id');
    expect(upstream.calls.length).toBe(before);
  });

  it('keeps a request two tasks wait on when one of them is cancelled', async () => {
    const ended: string[] = [];
    const second = await connectThroughProxy(agent, upstream, {
      tasks: true,
      log: (line) => ended.push(line),
    });
    try {
      const before = upstream.calls.length;
      const call = async (args: Record<string, unknown>) =>
        (
          await second.request(
            { method: 'tools/call', params: { name: 'get-sum', arguments: args, task: {} } },
            CreateTaskResultSchema,
          )
        ).task;
      const one = await call({ a: 12, b: 13 });
      const id = await awaitedRequest(one.taskId, second);
      // The same call again, once the first has its request: the proxy binds it to that request.
      const two = await call({ a: 12, b: 13 });
      expect(await awaitedRequest(two.taskId, second)).toBe(id);
      await second.experimental.tasks.cancelTask(one.taskId);
      // Once the cancelled task has wound up, its request is still there for the other one.
      await until(() => ended.some((line) => line.startsWith(`task ${one.taskId} ended`)));
      expect((await agent.get(id)).status).toBe('pending');
      await decide(id, 'approve');
      const result = (await second.experimental.tasks.getTaskResult(two.taskId, CallToolResultSchema, {
        timeout: 30_000,
      })) as CallToolResult;
      expect(textOf(result)).toBe('The sum of 12 and 13 is 25.');
      expect(upstream.calls.slice(before)).toEqual(['get-sum']);
    } finally {
      await second.close();
    }
  }, 60_000);

  describe('with the gateway held at one step', () => {
    type Held = 'request' | 'evaluate' | 'get' | 'redeem';
    const HELD = new Set<string | symbol>(['request', 'evaluate', 'get', 'redeem', 'waitForDecision']);
    const gates = new Map<Held, { entered: () => void; release: Promise<void> }>();
    /** How many of the next long-polls fail as an unreachable gateway would. */
    let failingWaits = 0;
    const submitted: string[] = [];
    const heldLog: string[] = [];
    let held: Client;
    /** Until the held proxy's task has wound up (its log says so). */
    const ended = (taskId: string) =>
      until(() => heldLog.some((line) => line.startsWith(`task ${taskId} ended`)));

    /** Holds the next call of `method` until the returned release is called; resolves on entry. */
    function hold(method: Held): { entered: Promise<void>; release: () => void } {
      let release = () => {};
      let entered = () => {};
      const enteredPromise = new Promise<void>((r) => {
        entered = r;
      });
      gates.set(method, { entered, release: new Promise<void>((r) => (release = r)) });
      return { entered: enteredPromise, release };
    }

    beforeAll(async () => {
      // The real gateway client, each of whose methods the proxy calls can wait at a gate first
      // (and whose long-poll can be made to fail).
      const gated = new Proxy(agent, {
        get(target, property) {
          const value = Reflect.get(target, property, target);
          if (typeof value !== 'function') return value;
          if (!HELD.has(property)) return value.bind(target);
          return async (...args: unknown[]) => {
            if (property === 'waitForDecision' && failingWaits > 0) {
              failingWaits--;
              throw new ApprovalsError('connect ECONNREFUSED (a test makes this long-poll fail)');
            }
            const gate = gates.get(property as Held);
            if (gate) {
              gates.delete(property as Held);
              gate.entered();
              await gate.release;
            }
            const answer = await value.apply(target, args);
            if (property === 'request') submitted.push((answer as { id: string }).id);
            return answer;
          };
        },
      });
      held = await connectThroughProxy(gated, upstream, { tasks: true, log: (line) => heldLog.push(line) });
    }, 60_000);

    afterAll(async () => {
      await held?.close();
    });

    const sendTask = async (args: Record<string, unknown>) =>
      (
        await held.request(
          { method: 'tools/call', params: { name: 'get-sum', arguments: args, task: {} } },
          CreateTaskResultSchema,
        )
      ).task;

    it('withdraws the request of a task cancelled before the gateway answered, and runs nothing', async () => {
      const before = upstream.calls.length;
      const gate = hold('request');
      const task = await sendTask({ a: 14, b: 15 });
      await gate.entered;
      await held.experimental.tasks.cancelTask(task.taskId);
      gate.release();
      await ended(task.taskId);
      const id = submitted.at(-1) ?? '';
      expect((await agent.get(id)).status).toBe('cancelled');
      expect(upstream.calls.length).toBe(before);
    }, 60_000);

    it('does not run a task cancelled after the approval but before its grant was redeemed', async () => {
      const before = upstream.calls.length;
      const task = await sendTask({ a: 16, b: 17 });
      const id = await awaitedRequest(task.taskId, held);
      // The proxy checks the call it is about to run against the approved request (evaluate): held there.
      const gate = hold('evaluate');
      await decide(id, 'approve');
      await gate.entered;
      await held.experimental.tasks.cancelTask(task.taskId);
      gate.release();
      await ended(task.taskId);
      // The request stays approved with its grant unspent, and the tool did not run.
      expect((await held.experimental.tasks.getTask(task.taskId)).status).toBe('cancelled');
      const view = await agent.get(id);
      expect(view.status).toBe('approved');
      expect(view.grant?.redeemed_at).toBeFalsy();
      expect(upstream.calls.length).toBe(before);
    }, 60_000);

    it('does not run a task cancelled while its grant was being redeemed, and records why', async () => {
      const before = upstream.calls.length;
      const task = await sendTask({ a: 22, b: 23 });
      const id = await awaitedRequest(task.taskId, held);
      const gate = hold('redeem');
      await decide(id, 'approve');
      await gate.entered;
      await held.experimental.tasks.cancelTask(task.taskId);
      gate.release();
      await ended(task.taskId);
      expect(upstream.calls.length).toBe(before);
      const view = await agent.get(id);
      expect(view.grant?.redeemed_at).toBeTruthy();
      expect(view.outcome).toMatchObject({ status: 'failed' });
      expect(view.outcome?.detail).toContain('cancelled before the call was made');
    }, 60_000);

    it('counts a task that finds the request while another task that shared it is cancelled', async () => {
      const before = upstream.calls.length;
      const one = await sendTask({ a: 24, b: 25 });
      const id = await awaitedRequest(one.taskId, held);
      // The second task finds the request by its arguments, then waits at its first gateway call.
      const gate = hold('get');
      const two = await sendTask({ a: 24, b: 25 });
      await gate.entered;
      await held.experimental.tasks.cancelTask(one.taskId);
      await ended(one.taskId);
      expect((await agent.get(id)).status).toBe('pending');
      gate.release();
      expect(await awaitedRequest(two.taskId, held)).toBe(id);
      await decide(id, 'approve');
      const result = (await held.experimental.tasks.getTaskResult(two.taskId, CallToolResultSchema, {
        timeout: 30_000,
      })) as CallToolResult;
      expect(textOf(result)).toBe('The sum of 24 and 25 is 49.');
      expect(upstream.calls.slice(before)).toEqual(['get-sum']);
    }, 60_000);

    it('withdraws a request two tasks shared once both are cancelled', async () => {
      const one = await sendTask({ a: 26, b: 27 });
      const id = await awaitedRequest(one.taskId, held);
      const two = await sendTask({ a: 26, b: 27 });
      expect(await awaitedRequest(two.taskId, held)).toBe(id);
      await held.experimental.tasks.cancelTask(one.taskId);
      await ended(one.taskId);
      expect((await agent.get(id)).status).toBe('pending');
      await held.experimental.tasks.cancelTask(two.taskId);
      await ended(two.taskId);
      expect((await agent.get(id)).status).toBe('cancelled');
    }, 60_000);

    it("leaves a plain caller's request pending when a task that shared it is cancelled", async () => {
      const plain = (await held.callTool({ name: 'get-sum', arguments: { a: 28, b: 29 } })) as CallToolResult;
      const id = String(plain._meta?.[REQUEST_ID_META]);
      const task = await sendTask({ a: 28, b: 29 });
      expect(await awaitedRequest(task.taskId, held)).toBe(id);
      await held.experimental.tasks.cancelTask(task.taskId);
      await ended(task.taskId);
      expect((await agent.get(id)).status).toBe('pending');
    }, 60_000);

    it('does not withdraw a request a plain call is taking up as its task ends', async () => {
      const task = await sendTask({ a: 34, b: 35 });
      const id = await awaitedRequest(task.taskId, held);
      // The same call, plain: it finds the request, then waits at its first gateway call.
      const gate = hold('get');
      const plain = held.callTool({ name: 'get-sum', arguments: { a: 34, b: 35 } });
      await gate.entered;
      await held.experimental.tasks.cancelTask(task.taskId);
      await ended(task.taskId);
      gate.release();
      const result = (await plain) as CallToolResult;
      expect(result._meta?.[REQUEST_ID_META]).toBe(id);
      expect(result.structuredContent).toMatchObject({ status: 'pending' });
      expect((await agent.get(id)).status).toBe('pending');
    }, 60_000);

    it('keeps waiting through a failing gateway, and still runs the call once approved', async () => {
      const before = upstream.calls.length;
      failingWaits = 2;
      const task = await sendTask({ a: 30, b: 31 });
      const id = await awaitedRequest(task.taskId, held);
      // Both long-polls failed and were retried (after 1 s, then 2 s); the task still waits.
      await until(() => heldLog.filter((line) => line.includes(`waiting for request ${id}`)).length === 2);
      expect((await held.experimental.tasks.getTask(task.taskId)).status).toBe('working');
      await decide(id, 'approve');
      const result = (await held.experimental.tasks.getTaskResult(task.taskId, CallToolResultSchema, {
        timeout: 30_000,
      })) as CallToolResult;
      expect(textOf(result)).toBe('The sum of 30 and 31 is 61.');
      expect(failingWaits).toBe(0);
      expect(upstream.calls.slice(before)).toEqual(['get-sum']);
    }, 60_000);
  });

  it("stops its tasks' waits when the client goes, even when a caller set its own onclose", async () => {
    const lines: string[] = [];
    const proxy = createMcpProxy({
      gateway: agent,
      upstream: upstream.client,
      server: 'everything',
      mapping: MAPPING,
      tasks: true,
      log: (line) => lines.push(line),
    });
    let callersHandler = 0;
    proxy.onclose = () => {
      callersHandler++;
    };
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await proxy.connect(serverSide);
    const own = new Client({ name: 'test-agent', version: '1.0.0' });
    await own.connect(clientSide);
    const { task } = await own.request(
      { method: 'tools/call', params: { name: 'get-sum', arguments: { a: 32, b: 33 }, task: {} } },
      CreateTaskResultSchema,
    );
    const id = await awaitedRequest(task.taskId, own);
    await own.close();
    await until(() => lines.some((line) => line.startsWith(`task ${task.taskId} ended`)));
    expect(callersHandler).toBe(1);
    // The proxy going is not the task ending: its request stays, for a restarted proxy.
    expect((await agent.get(id)).status).toBe('pending');
  });
});
