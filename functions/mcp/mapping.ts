/**
 * How an MCP tool call becomes an action request (docs/mcp.md#mapping): by default the action is
 * `mcp.<server>.<tool>` (`-` and other characters outside `[a-z0-9_]` become `_`) with the call's arguments as `action.args`, on the resource
 * `{ type: 'mcp:server', id: '<server>' }`; a mapping file may rename actions and resources per tool.
 */
import { z } from 'zod';
import type { ActionRequestInput, JsonObject } from '../../client/index.ts';

/** What the default policy pack accepts in a segment of an action name: lowercase ASCII, digits, `_`. */
const NOT_SEGMENT = /[^a-z0-9_]+/g;

/** A name as one segment of an action name: `get-sum` → `get_sum`, `Files Server` → `files_server`. */
export function segment(name: string): string {
  return (
    name
      .toLowerCase()
      .replace(NOT_SEGMENT, '_')
      .replace(/^_+|_+$/g, '') || '_'
  );
}

const ResourceSchema = z.strictObject({
  type: z.string().min(1, 'resource.type must not be empty'),
  id: z.string().min(1, 'resource.id must not be empty'),
  properties: z.record(z.string(), z.unknown()).optional(),
});

const ToolSchema = z.strictObject({
  /** The action name for this tool instead of `mcp.<server>.<tool>`. */
  action: z.string().min(1).optional(),
  resource: ResourceSchema.optional(),
});

export const MappingSchema = z.strictObject({
  /** The `<server>` of default action names; default: the upstream's own name. */
  server: z
    .string()
    .regex(
      /^[a-z0-9_]+$/,
      'server may hold only lowercase letters, digits and _ (it is part of action names)',
    )
    .optional(),
  /** The resource of every tool without its own; default `{ type: 'mcp:server', id: <server> }`. */
  resource: ResourceSchema.optional(),
  tools: z.record(z.string(), ToolSchema).optional(),
  /** Sent with every request: who the agent acts for, why, which agent. */
  context: z
    .strictObject({
      justification: z.string().optional(),
      on_behalf_of: z.string().optional(),
      ticket: z.string().optional(),
      agent: z.strictObject({ name: z.string().optional(), model: z.string().optional() }).optional(),
    })
    .optional(),
});
export type Mapping = z.infer<typeof MappingSchema>;

/** Parses a mapping file's JSON; the error names the field to fix. */
export function parseMapping(value: unknown, source: string): Mapping {
  const parsed = MappingSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues
    .map((issue) => `${issue.path.join('.') || '(top level)'}: ${issue.message}`)
    .join('; ');
  throw new Error(`${source} is not a valid MCP mapping: ${problems} (see docs/mcp.md#mapping)`);
}

/** A server's own name as the `<server>` of action names: `@acme/Files Server` → `acme_files_server`. */
export function serverSlug(name: string): string {
  const slug = segment(name.replace(/^@/, ''));
  return slug === '_' ? 'upstream' : slug;
}

/** The action request for one tool call. */
export function actionFor(
  mapping: Mapping,
  server: string,
  tool: string,
  args: JsonObject,
  agent: { readonly sessionId: string },
): ActionRequestInput {
  const own = mapping.tools?.[tool];
  const context = mapping.context ?? {};
  return {
    action: { name: own?.action ?? `mcp.${server}.${segment(tool)}`, args },
    resource: own?.resource ?? mapping.resource ?? { type: 'mcp:server', id: server },
    context: {
      ...context,
      agent: { name: 'mcp-proxy', ...context.agent, session_id: agent.sessionId },
      attributes: { mcp: { server, tool } },
    },
  };
}
