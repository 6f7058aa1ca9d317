// Serves @modelcontextprotocol/server-everything over Streamable HTTP on 127.0.0.1 (its own
// launcher listens on every interface): the same server factory and the MCP SDK's transport, one
// session per client. Prints `listening on <url>` when ready.
import { randomUUID } from 'node:crypto';
import { createServer as createHttpServer } from 'node:http';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { createServer } from '@modelcontextprotocol/server-everything/dist/server/index.js';

const sessions = new Map();

const http = createHttpServer(async (req, res) => {
  if (new URL(req.url ?? '/', 'http://127.0.0.1').pathname !== '/mcp') {
    res.writeHead(404).end();
    return;
  }
  const id = req.headers['mcp-session-id'];
  let transport = typeof id === 'string' ? sessions.get(id) : undefined;
  if (!transport) {
    if (req.method !== 'POST' || id !== undefined) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"unknown session"}');
      return;
    }
    const { server } = createServer();
    transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (sessionId) => sessions.set(sessionId, transport),
    });
    transport.onclose = () => {
      if (transport.sessionId) sessions.delete(transport.sessionId);
    };
    await server.connect(transport);
  }
  await transport.handleRequest(req, res);
});

http.listen(0, '127.0.0.1', () => {
  const { port } = http.address();
  process.stdout.write(`listening on http://127.0.0.1:${port}/mcp\n`);
});
