/**
 * MCP server mode (`ala mcp serve`): the gateway's own operations as MCP tools, for agents that
 * would rather ask explicitly than have their tools proxied. Every tool calls the gateway through
 * the SDK client, as the agent whose token the server holds.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import {
  type ActionRequestInput,
  type ActionRequestView,
  ApprovalsApiError,
  type ApprovalsClient,
  ApprovalsError,
  MAX_WAIT_SECONDS,
} from '../../client/index.ts';

const RequestId = z.string().regex(/^ar_[0-9A-Za-z]+$/, 'a request id looks like ar_01J…');
const Json = z.record(z.string(), z.unknown());

export function createGatewayMcpServer(gateway: ApprovalsClient, version = '0.0.0'): McpServer {
  const server = new McpServer(
    { name: 'action-level-approvals', version },
    {
      instructions:
        'Ask before you act: request_action before a privileged action, act only when it is approved, ' +
        'redeem_grant right before acting, report_outcome after. agent_message says what to do next.',
    },
  );

  server.registerTool(
    'request_action',
    {
      title: 'Ask the approvals gateway for permission to act',
      description:
        'Submits an action (name, args) on a resource for the policy and, if needed, human approvers. ' +
        'Answers allowed (approved), denied, or pending with a request id. Nothing runs here: you act ' +
        'yourself, only once approved.',
      inputSchema: {
        action: z.object({ name: z.string(), args: Json.optional() }),
        resource: z.object({ type: z.string(), id: z.string(), properties: Json.optional() }),
        context: Json.optional().describe('justification, on_behalf_of, ticket, …'),
        idempotency_key: z
          .string()
          .optional()
          .describe('the same key again finds the same request instead of asking twice'),
        wait_seconds: z.number().int().min(0).max(MAX_WAIT_SECONDS).optional(),
      },
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false },
    },
    (args) =>
      answer(async () => {
        const input = {
          action: args.action,
          resource: args.resource,
          ...(args.context ? { context: args.context } : {}),
        } as ActionRequestInput;
        return view(
          await gateway.request(input, {
            ...(args.idempotency_key ? { idempotencyKey: args.idempotency_key } : {}),
            ...(args.wait_seconds !== undefined ? { waitSeconds: args.wait_seconds } : {}),
          }),
        );
      }),
  );

  server.registerTool(
    'get_request_status',
    {
      title: 'Status of an action request',
      description: `Status of a request; with wait_seconds (at most ${MAX_WAIT_SECONDS}) answers as soon as it changes.`,
      inputSchema: {
        request_id: RequestId,
        wait_seconds: z.number().int().min(0).max(MAX_WAIT_SECONDS).optional(),
      },
      annotations: { readOnlyHint: true },
    },
    (args) =>
      answer(async () =>
        view(
          await gateway.get(
            args.request_id,
            args.wait_seconds !== undefined ? { waitSeconds: args.wait_seconds } : {},
          ),
        ),
      ),
  );

  server.registerTool(
    'redeem_grant',
    {
      title: 'Redeem the one-shot grant of an approved request',
      description:
        'Once per approved request, right before acting: returns the grant (and scoped AWS credentials ' +
        'for aws_sts grants). A second redemption is refused.',
      inputSchema: { request_id: RequestId },
      annotations: { readOnlyHint: false, idempotentHint: false },
    },
    (args) =>
      answer(async () => {
        const grant = await gateway.redeem(args.request_id);
        return { text: grant.agent_message, data: { ...grant } };
      }),
  );

  server.registerTool(
    'report_outcome',
    {
      title: 'Report what happened after acting',
      description: 'Records succeeded or failed (with a short detail, no secrets) in the audit trail.',
      inputSchema: {
        request_id: RequestId,
        status: z.enum(['succeeded', 'failed']),
        detail: z.string().max(1000).optional(),
      },
      annotations: { readOnlyHint: false },
    },
    (args) =>
      answer(async () => view(await gateway.reportOutcome(args.request_id, args.status, args.detail))),
  );

  return server;
}

function view(request: ActionRequestView): { text: string; data: Record<string, unknown> } {
  return {
    text: `Request ${request.id} is ${request.status}. ${request.agent_message}`,
    data: { ...request },
  };
}

/** A gateway refusal is a tool error the model can read, not a protocol error. */
async function answer(
  body: () => Promise<{ text: string; data: Record<string, unknown> }>,
): Promise<CallToolResult> {
  try {
    const { text, data } = await body();
    return { content: [{ type: 'text', text }], structuredContent: data };
  } catch (error) {
    if (!(error instanceof ApprovalsError)) throw error;
    const code = error instanceof ApprovalsApiError ? ` (${error.code})` : '';
    return {
      isError: true,
      content: [{ type: 'text', text: `The gateway refused${code}: ${error.message}` }],
    };
  }
}
