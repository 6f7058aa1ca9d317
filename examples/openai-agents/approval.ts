/**
 * OpenAI Agents SDK: the tool's `needsApproval` asks the gateway; the run pauses with an
 * interruption while humans decide; `resolveAgentsInterruptions` approves or rejects it with the
 * gateway's decision; `execute` then runs the action once, with the one-shot grant.
 *
 *   ALA_URL=http://127.0.0.1:8787 ALA_TOKEN=<agent token> npx tsx examples/openai-agents/approval.ts
 *
 * runs it with a scripted model (no model provider needed); approve the request it prints with
 * `ala approve <id>` as a platform approver. Swap `scriptedModel` for a real model to use it.
 */
import { randomUUID } from 'node:crypto';
import {
  Agent,
  type Model,
  type ModelRequest,
  type ModelResponse,
  Runner,
  tool,
  Usage,
} from '@openai/agents-core';
import { z } from 'zod';
import { ApprovalsClient, resolveAgentsInterruptions, ToolApprovals } from '../../client/index.ts';
import { describeReportRead, type ReadReport } from '../shared.ts';

export async function runReportsAgent(options: {
  readonly gateway: ApprovalsClient;
  readonly model: Model;
  readonly readReport: ReadReport;
  readonly prompt: string;
  readonly timeoutMs?: number;
}): Promise<unknown> {
  const approvals = new ToolApprovals(options.gateway, {
    sessionId: randomUUID(),
    ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
  });
  const readReport = tool({
    name: 'read_report',
    description: 'Read a payroll report. Needs a human approval.',
    parameters: z.object({ report: z.string() }),
    // Asks the gateway; true pauses the run with an interruption instead of blocking here.
    needsApproval: async (_context, args, callId) =>
      approvals.needsApproval(describeReportRead(args, 'reports-assistant'), callId ?? ''),
    // Runs only for an approved request (grant redeemed once, outcome reported).
    execute: async (args, _context, details) =>
      approvals.run(
        describeReportRead(args, 'reports-assistant'),
        details?.toolCall?.callId ?? '',
        () => options.readReport(args.report),
        { onNotApproved: (error) => error.message },
      ),
  });
  const agent = new Agent({
    name: 'reports-assistant',
    instructions: 'Answer with the report the user asks for.',
    tools: [readReport],
    model: options.model,
  });
  const runner = new Runner({ tracingDisabled: true });
  let result = await runner.run(agent, options.prompt);
  while (result.interruptions.length > 0) {
    // The gateway's approvers decide (API, CLI, chat); a long-lived service would persist
    // result.state here and resume when the decision arrives.
    const stillOpen = await resolveAgentsInterruptions(approvals, result);
    if (stillOpen.length > 0) return 'Still waiting for approval; try again later.';
    result = await runner.run(agent, result.state);
  }
  return result.finalOutput;
}

/** A model that calls read_report once, then answers with what the tool returned. */
export function scriptedModel(report: string): Model {
  return {
    async getResponse(request: ModelRequest): Promise<ModelResponse> {
      const items = Array.isArray(request.input) ? request.input : [];
      const toolResult = items.find((item) => item.type === 'function_call_result');
      if (!toolResult) {
        return {
          usage: new Usage(),
          output: [
            {
              type: 'function_call',
              callId: `call_${randomUUID()}`,
              name: 'read_report',
              arguments: JSON.stringify({ report }),
              status: 'completed',
            },
          ],
        };
      }
      const output = 'output' in toolResult ? toolResult.output : undefined;
      const text =
        typeof output === 'object' && output && 'text' in output
          ? String(output.text)
          : JSON.stringify(output);
      return {
        usage: new Usage(),
        output: [
          {
            type: 'message',
            role: 'assistant',
            status: 'completed',
            content: [{ type: 'output_text', text }],
          },
        ],
      };
    },
    getStreamedResponse(): AsyncIterable<never> {
      throw new Error('the scripted model does not stream');
    },
  };
}

if (import.meta.filename === process.argv[1]) {
  const gateway = new ApprovalsClient({
    baseUrl: process.env.ALA_URL ?? 'http://127.0.0.1:8787',
    token: process.env.ALA_TOKEN,
  });
  const answer = await runReportsAgent({
    gateway,
    model: scriptedModel('payroll-2026-q2'),
    readReport: async (report) => `${report}: 1,204 rows`,
    prompt: 'Show me the Q2 payroll report',
  });
  console.log(answer);
}
