/**
 * The real HTTP application (SQLite in memory, policy double) behind a real HTTP server on
 * 127.0.0.1, for driving the SDK and the CLI over the wire.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { testApp } from '../../support/app.ts';

export type PolicyAnswer = Parameters<typeof testApp>[0];
type Handler = (request: Request) => Response | Promise<Response>;

export interface TestServer {
  readonly url: string;
  /** Every request the server received, in order. */
  readonly seen: { method: string; path: string; headers: Headers }[];
  close(): Promise<void>;
}

/** Serves a fetch handler on an ephemeral port and records what arrives. */
export async function startServer(handler: Handler): Promise<TestServer> {
  const seen: TestServer['seen'] = [];
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve(
      {
        fetch: (request: Request) => {
          seen.push({
            method: request.method,
            path: new URL(request.url).pathname,
            headers: request.headers,
          });
          return handler(request);
        },
        port: 0,
        hostname: '127.0.0.1',
      },
      () => resolve(s),
    );
    s.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        if ('closeAllConnections' in server) server.closeAllConnections();
      }),
  };
}

/** The gateway application over HTTP; `faults` answers instead of it while it returns a Response. */
export async function startGateway(
  options: {
    answer?: PolicyAnswer;
    app?: Parameters<typeof testApp>[1];
    faults?: (request: Request, attempt: number) => Response | undefined;
  } = {},
) {
  const gateway = testApp(options.answer, options.app);
  let attempt = 0;
  const server = await startServer((request) => {
    attempt += 1;
    return options.faults?.(request, attempt) ?? gateway.app.fetch(request);
  });
  return { ...gateway, ...server };
}

/** A raw server whose handler may drop the connection, for network failures fetch sees. */
export async function startRawServer(
  handler: (request: IncomingMessage, response: ServerResponse, attempt: number) => void,
): Promise<{ url: string; attempts: () => number; close(): Promise<void> }> {
  let attempts = 0;
  const server = createServer((request, response) => {
    attempts += 1;
    handler(request, response, attempts);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    attempts: () => attempts,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A URL where nothing listens: a port that was just free. */
export async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

export function jsonError(status: number, error: string, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify({ error, message: `${error} (injected by the test)` }), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });
}
