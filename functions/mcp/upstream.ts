/** Connecting to the upstream MCP server: a command over stdio, or a URL over Streamable HTTP. */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';

export type UpstreamSpec =
  | { readonly command: string; readonly args: readonly string[]; readonly env?: Record<string, string> }
  | { readonly url: string; readonly headers?: Record<string, string> };

export function upstreamTransport(spec: UpstreamSpec): Transport {
  if ('url' in spec) {
    let url: URL;
    try {
      url = new URL(spec.url);
    } catch {
      throw new Error(`--upstream must be an http(s) URL of a Streamable HTTP MCP endpoint; got ${spec.url}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new Error(`--upstream must be an http(s) URL; got the ${url.protocol} scheme`);
    }
    return new StreamableHTTPClientTransport(
      url,
      spec.headers ? { requestInit: { headers: spec.headers } } : {},
    );
  }
  return new StdioClientTransport({
    command: spec.command,
    args: [...spec.args],
    // The upstream's log goes to the proxy's stderr; its stdout is the MCP channel.
    stderr: 'inherit',
    ...(spec.env ? { env: spec.env } : {}),
  });
}

/** A client connected to the upstream (the MCP handshake done). */
export async function connectUpstream(transport: Transport): Promise<Client> {
  const client = new Client({ name: 'ala-mcp-proxy', version: '0.1.0' });
  await client.connect(transport);
  return client;
}
