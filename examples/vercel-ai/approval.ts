/**
 * Vercel AI SDK: the tool's `needsApproval` asks the gateway, so `generateText` stops with a
 * `tool-approval-request` instead of running the tool; `aiSdkApprovalResponses` answers it with
 * the gateway's decision (the AI SDK's own approval flow, no blocking `execute`); the next
 * `generateText` then runs `execute` once, with the one-shot grant, or tells the model why not.
 *
 *   ALA_URL=http://127.0.0.1:8787 ALA_TOKEN=<agent token> npx tsx examples/vercel-ai/approval.ts
 *
 * runs it with the AI SDK's mock model; approve the request with `ala approve <id>` as a platform
 * approver. Pass a real model (e.g. from @ai-sdk/openai) instead of `scriptedModel` to use it.
 */
import { randomUUID } from 'node:crypto';
import { generateText, type LanguageModel, type ModelMessage, stepCountIs, tool } from 'ai';
import { MockLanguageModelV3 } from 'ai/test';
import { z } from 'zod';
import { ApprovalsClient, aiSdkApprovalResponses, ToolApprovals } from '../../client/index.ts';
import { describeReportRead, type ReadReport } from '../shared.ts';

export async function runReportsAgent(options: {
  readonly gateway: ApprovalsClient;
  readonly model: LanguageModel;
  readonly readReport: ReadReport;
  readonly prompt: string;
  readonly timeoutMs?: number;
}): Promise<string> {
  const approvals = new ToolApprovals(options.gateway, {
    sessionId: randomUUID(),
    ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
  });
  const tools = {
    read_report: tool({
      description: 'Read a payroll report. Needs a human approval.',
      inputSchema: z.object({ report: z.string() }),
      needsApproval: (args, { toolCallId }) =>
        approvals.needsApproval(describeReportRead(args, 'reports-assistant'), toolCallId),
      execute: (args, { toolCallId, abortSignal }) =>
        approvals.run(
          describeReportRead(args, 'reports-assistant'),
          toolCallId,
          () => options.readReport(args.report),
          { onNotApproved: (error) => error.message, ...(abortSignal ? { signal: abortSignal } : {}) },
        ),
    }),
  };
  const messages: ModelMessage[] = [{ role: 'user', content: options.prompt }];
  for (;;) {
    const result = await generateText({ model: options.model, tools, messages, stopWhen: stepCountIs(5) });
    messages.push(...result.response.messages);
    // Waits for the gateway's approvers; a web app would instead show the request and resume later.
    const decisions = await aiSdkApprovalResponses(approvals, result.content);
    if (!decisions) return result.text;
    messages.push(decisions);
  }
}

/** The AI SDK's mock model: calls read_report once, then answers with the tool's result (or its denial). */
export function scriptedModel(report: string): LanguageModel {
  const usage = {
    inputTokens: { total: 1, noCache: 1, cacheRead: undefined, cacheWrite: undefined },
    outputTokens: { total: 1, text: 1, reasoning: undefined },
  };
  return new MockLanguageModelV3({
    doGenerate: async ({ prompt }) => {
      const results = prompt.flatMap((message) =>
        message.role === 'tool' ? message.content.filter((part) => part.type === 'tool-result') : [],
      );
      const last = results.at(-1);
      if (!last) {
        return {
          content: [
            {
              type: 'tool-call',
              toolCallId: `call_${randomUUID()}`,
              toolName: 'read_report',
              input: JSON.stringify({ report }),
            },
          ],
          finishReason: { unified: 'tool-calls', raw: undefined },
          usage,
          warnings: [],
        };
      }
      const output = last.output;
      const text =
        output.type === 'execution-denied'
          ? `Not run: ${output.reason ?? 'denied'}`
          : output.type === 'text' || output.type === 'error-text'
            ? output.value
            : JSON.stringify(output.value);
      return {
        content: [{ type: 'text', text }],
        finishReason: { unified: 'stop', raw: undefined },
        usage,
        warnings: [],
      };
    },
  });
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
