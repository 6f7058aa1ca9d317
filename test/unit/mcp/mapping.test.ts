import { describe, expect, it } from 'vitest';
import { actionFor, parseMapping, segment, serverSlug } from '../../../functions/mcp/mapping.ts';

const session = { sessionId: 'session-1' };

describe('the MCP mapping of a tool call to an action request', () => {
  it('names the action mcp.<server>.<tool> with the arguments as they were sent, on the server as resource', () => {
    const input = actionFor({}, 'everything', 'echo', { message: 'hi', nested: { n: 1 } }, session);
    expect(input.action).toEqual({ name: 'mcp.everything.echo', args: { message: 'hi', nested: { n: 1 } } });
    expect(input.resource).toEqual({ type: 'mcp:server', id: 'everything' });
    expect(input.context?.attributes).toEqual({ mcp: { server: 'everything', tool: 'echo' } });
    expect(input.context?.agent).toEqual({ name: 'mcp-proxy', session_id: 'session-1' });
  });

  it('turns characters action names may not hold into underscores, lower-cased', () => {
    expect(segment('get-sum')).toBe('get_sum');
    expect(segment('Read File (v2)')).toBe('read_file_v2');
    expect(actionFor({}, 'fs', 'write.file', {}, session).action.name).toBe('mcp.fs.write_file');
    expect(serverSlug('@modelcontextprotocol/Server Everything')).toBe(
      'modelcontextprotocol_server_everything',
    );
    expect(serverSlug('---')).toBe('upstream');
  });

  it("takes a tool's own action and resource from the mapping, and the mapping's context", () => {
    const mapping = parseMapping(
      {
        server: 'files',
        resource: { type: 'fs:root', id: 'files-dev' },
        tools: { write_file: { action: 'files.write', resource: { type: 'fs:path', id: 'files-prod' } } },
        context: { on_behalf_of: 'user:alice@example.gov', agent: { name: 'assistant' } },
      },
      'mapping.json',
    );
    const write = actionFor(mapping, 'files', 'write_file', { path: '/a' }, session);
    expect(write.action.name).toBe('files.write');
    expect(write.resource).toEqual({ type: 'fs:path', id: 'files-prod' });
    expect(write.context).toMatchObject({
      on_behalf_of: 'user:alice@example.gov',
      agent: { name: 'assistant', session_id: 'session-1' },
    });
    expect(actionFor(mapping, 'files', 'read_file', {}, session).resource).toEqual({
      type: 'fs:root',
      id: 'files-dev',
    });
  });

  it('refuses a mapping with an unknown key or a server outside [a-z0-9_], naming the field', () => {
    expect(() => parseMapping({ tool: {} }, 'm.json')).toThrow(/m\.json is not a valid MCP mapping: .*tool/);
    expect(() => parseMapping({ server: 'Files-Server' }, 'm.json')).toThrow(/server: server may hold only/);
    expect(() => parseMapping({ tools: { x: { resource: { type: '', id: 'a' } } } }, 'm.json')).toThrow(
      /tools\.x\.resource\.type/,
    );
  });
});
