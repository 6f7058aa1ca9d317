/**
 * The framework examples under examples/, each run with its framework's scripted/mock model
 * against a real local gateway (no network): the run pauses in the framework's own approval flow,
 * a platform approver decides through the gateway, and the tool body runs once only if approved.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActionRequestView, ApprovalsClient } from '../../../client/index.ts';
import * as langgraph from '../../../examples/langgraph/approval.ts';
import * as openaiAgents from '../../../examples/openai-agents/approval.ts';
import * as vercelAi from '../../../examples/vercel-ai/approval.ts';
import { waitFor } from '../../harness/wait.ts';
import type { GatewayProcess } from '../../support/gateway-process.ts';
import { startMcpGateway } from '../mcp/fixtures.ts';

let gateway: GatewayProcess;
let agent: ApprovalsClient;
let erin: ApprovalsClient;

beforeAll(async () => {
  ({ gateway, agent, erin } = await startMcpGateway());
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
});

/** Waits for the example's request for `report` to reach erin's queue, then votes on it. */
async function decideWhenAsked(
  report: string,
  decision: 'approve' | 'reject',
  beforeVoting: () => void = () => {},
): Promise<ActionRequestView> {
  const request = await waitFor(
    async () =>
      (await erin.pending({ limit: 100 })).find(
        (item) => item.action.name === 'reports.read' && item.action.args.report === report,
      ),
    { what: `the request to read ${report} in the approver's queue`, timeoutMs: 30_000, intervalMs: 100 },
  );
  beforeVoting();
  await erin.decide(request.id, {
    decision,
    actionHash: request.action_hash,
    comment: `${decision} ${report}`,
  });
  return request;
}

/** Reads that ran, by report, to prove the tool body ran once or not at all. */
function recorder() {
  const reads: string[] = [];
  return {
    reads,
    readReport: async (report: string) => {
      reads.push(report);
      return `${report}: 1,204 rows`;
    },
  };
}

/** Each example's entry point, its model typed as the example wants it. */
interface Example {
  runReportsAgent(options: {
    gateway: ApprovalsClient;
    model: never;
    readReport: (report: string) => Promise<string>;
    prompt: string;
    timeoutMs?: number;
  }): Promise<unknown>;
  scriptedModel(report: string): unknown;
}

describe.each([
  { name: 'OpenAI Agents SDK', example: openaiAgents as unknown as Example, tag: 'oa' },
  { name: 'Vercel AI SDK', example: vercelAi as unknown as Example, tag: 'ai' },
  { name: 'LangGraph JS', example: langgraph as unknown as Example, tag: 'lg' },
])('the $name example', ({ example, tag }) => {
  it('pauses on needsApproval, resumes on the approval and reads the report once', async () => {
    const { reads, readReport } = recorder();
    const answer = example.runReportsAgent({
      gateway: agent,
      model: example.scriptedModel(`${tag}-approved`) as never,
      readReport,
      prompt: 'Show me the report',
      timeoutMs: 30_000,
    });
    // Paused, not blocked inside the tool: nothing read before the vote.
    const request = await decideWhenAsked(`${tag}-approved`, 'approve', () => expect(reads).toEqual([]));
    await expect(answer).resolves.toBe(`${tag}-approved: 1,204 rows`);
    expect(reads).toEqual([`${tag}-approved`]);
    const after = await agent.get(request.id);
    expect(after.grant?.redeemed_at).toBeDefined();
    expect(after.outcome?.status).toBe('succeeded');
  });

  it("gives the model the gateway's message and reads nothing when the approver rejects", async () => {
    const { reads, readReport } = recorder();
    const answer = example.runReportsAgent({
      gateway: agent,
      model: example.scriptedModel(`${tag}-rejected`) as never,
      readReport,
      prompt: 'Show me the report',
      timeoutMs: 30_000,
    });
    const request = await decideWhenAsked(`${tag}-rejected`, 'reject');
    const rejected = await agent.get(request.id);
    await expect(answer).resolves.toContain(rejected.agent_message);
    expect(reads).toEqual([]);
  });
});
