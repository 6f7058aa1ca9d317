/**
 * LangGraph JS: the tool node asks the gateway and, when humans must decide, pauses the graph
 * with `interrupt()`; the caller waits for the gateway's decision and resumes the thread with
 * `Command({ resume })`; the node then runs the action once, with the one-shot grant, only if the
 * gateway approved (the resume value is informative: the gateway stays the authority).
 *
 *   ALA_URL=http://127.0.0.1:8787 ALA_TOKEN=<agent token> npx tsx examples/langgraph/approval.ts
 *
 * runs it with LangChain's fake chat model; approve the request with `ala approve <id>` as a
 * platform approver. Bind a real chat model instead of `scriptedModel` to use it.
 */
import { randomUUID } from 'node:crypto';
import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { AIMessage, AIMessageChunk, HumanMessage, ToolMessage } from '@langchain/core/messages';
import { FakeStreamingChatModel } from '@langchain/core/utils/testing';
import {
  Command,
  END,
  interrupt,
  MemorySaver,
  MessagesAnnotation,
  START,
  StateGraph,
} from '@langchain/langgraph';
import { ApprovalsClient, gatewayInterrupt, isGatewayInterrupt, ToolApprovals } from '../../client/index.ts';
import { describeReportRead, type ReadReport } from '../shared.ts';

export async function runReportsAgent(options: {
  readonly gateway: ApprovalsClient;
  readonly model: BaseChatModel;
  readonly readReport: ReadReport;
  readonly prompt: string;
  readonly timeoutMs?: number;
}): Promise<unknown> {
  const approvals = new ToolApprovals(options.gateway, {
    sessionId: randomUUID(),
    ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
  });

  const graph = new StateGraph(MessagesAnnotation)
    .addNode('agent', async (state) => ({ messages: [await options.model.invoke(state.messages)] }))
    .addNode('tools', async (state) => {
      const last = state.messages.at(-1) as AIMessage;
      const messages: ToolMessage[] = [];
      for (const call of last.tool_calls ?? []) {
        const callId = call.id ?? '';
        const input = describeReportRead(call.args as { report: string }, 'reports-assistant');
        const pause = await gatewayInterrupt(approvals, input, callId);
        // Pauses the graph until resumed; when resumed, returns the resume value at once.
        if (pause) interrupt(pause);
        const content = await approvals.run(
          input,
          callId,
          () => options.readReport(String(call.args.report)),
          {
            onNotApproved: (error) => error.message,
          },
        );
        messages.push(new ToolMessage({ content, tool_call_id: callId }));
      }
      return { messages };
    })
    .addEdge(START, 'agent')
    .addConditionalEdges('agent', (state) =>
      ((state.messages.at(-1) as AIMessage).tool_calls?.length ?? 0) > 0 ? 'tools' : END,
    )
    .addEdge('tools', END)
    .compile({ checkpointer: new MemorySaver() });

  const config = { configurable: { thread_id: randomUUID() } };
  let state = await graph.invoke({ messages: [new HumanMessage(options.prompt)] }, config);
  for (;;) {
    const snapshot = await graph.getState(config);
    const pauses = snapshot.tasks.flatMap((task) => task.interrupts.map((pending) => pending.value));
    const pause = pauses.find(isGatewayInterrupt);
    if (!pause) break;
    // The gateway's approvers decide; a service would store the thread id and resume later.
    const decision = await approvals.decide(pause.call_id);
    state = await graph.invoke(new Command({ resume: decision.status }), config);
  }
  return state.messages.at(-1)?.content;
}

/** LangChain's fake chat model, answering with one read_report tool call. */
export function scriptedModel(report: string): BaseChatModel {
  return new FakeStreamingChatModel({
    responses: [new AIMessage('')],
    chunks: [
      new AIMessageChunk({
        content: '',
        tool_calls: [
          { name: 'read_report', args: { report }, id: `call_${randomUUID()}`, type: 'tool_call' },
        ],
      }),
    ],
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
