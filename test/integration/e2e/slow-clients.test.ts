/**
 * Slow clients against the real local gateway (a child process with short limits): a client that
 * dribbles its headers or its body is cut off at the configured deadline, and the gateway goes on
 * serving everyone else meanwhile. Its data files are owner-only.
 */
import { statSync } from 'node:fs';
import { get } from 'node:http';
import { connect, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type GatewayProcess,
  gatewayConfig,
  PRINCIPALS,
  startGatewayProcess,
} from '../../support/gateway-process.ts';

const HEADERS_TIMEOUT_MS = 1_000;
const REQUEST_TIMEOUT_MS = 2_000;

let gateway: GatewayProcess;
let configPath: string;

beforeAll(async () => {
  configPath = gatewayConfig(undefined, 'warn', {
    // One process: the connection cap is then exact. With several, each worker holds an equal
    // share and the primary's hand-out decides how evenly they fill (docs/local-mode.md#workers).
    workers: 1,
    server: {
      headersTimeoutMs: HEADERS_TIMEOUT_MS,
      requestTimeoutMs: REQUEST_TIMEOUT_MS,
      maxConnections: 20,
    },
  });
  gateway = await startGatewayProcess(configPath);
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
});

/** Opens a raw connection and resolves when the server closes it, with what it answered and when. */
function slowClient(
  start: string,
  dribble: string,
): { socket: Socket; closed: Promise<{ afterMs: number; answer: string }> } {
  const { port, hostname } = new URL(gateway.url);
  const socket = connect(Number(port), hostname);
  const opened = Date.now();
  let answer = '';
  socket.on('data', (chunk) => {
    answer += chunk.toString();
  });
  socket.on('error', () => {});
  socket.write(start);
  // One byte every 200 ms, for far longer than any limit.
  const timer = setInterval(() => {
    if (!socket.destroyed) socket.write(dribble);
  }, 200);
  const closed = new Promise<{ afterMs: number; answer: string }>((resolve) =>
    socket.once('close', () => {
      clearInterval(timer);
      resolve({ afterMs: Date.now() - opened, answer });
    }),
  );
  return { socket, closed };
}

/** GET /healthz on a connection of its own (never one kept alive from an earlier call). */
function healthz(): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = get(`${gateway.url}/healthz`, { agent: false, timeout: 5_000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
  });
}

describe('Local gateway: slow clients', () => {
  it('cuts off a client that never finishes its headers, and serves others meanwhile', async () => {
    const client = slowClient('GET /v1/action-requests HTTP/1.1\r\nHost: x\r\n', 'X');
    expect(await healthz()).toBe(200);
    const { afterMs, answer } = await client.closed;
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    // Cut at the limit (checked every second at most), far from Node's 60 s default.
    expect(afterMs).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - 100);
    expect(afterMs).toBeLessThan(HEADERS_TIMEOUT_MS + 5_000);
    expect(await healthz()).toBe(200);
  }, 30_000);

  it('cuts off a client that never finishes its body, and records nothing from it', async () => {
    const body =
      '{"action":{"name":"data.export"},"resource":{"type":"aws:s3:bucket","id":"arn:aws:s3:::b"}}';
    const client = slowClient(
      'POST /v1/action-requests HTTP/1.1\r\nHost: x\r\n' +
        `Authorization: Bearer ${PRINCIPALS.agent.token}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${body.length + 1000}\r\n\r\n${body}`,
      ' ',
    );
    expect(await healthz()).toBe(200);
    const { afterMs } = await client.closed;
    expect(afterMs).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - 100);
    expect(afterMs).toBeLessThan(REQUEST_TIMEOUT_MS + 5_000);
    const listing = await gateway.call('agent', 'GET', '/v1/action-requests?status=pending');
    expect(listing.status).toBe(200);
    const mine = (await (await gateway.call('agent', 'GET', '/v1/action-requests?status=denied')).json()) as {
      count: number;
    };
    expect(mine.count).toBe(0);
    expect(await healthz()).toBe(200);
  }, 30_000);

  it('refuses connections beyond the cap and serves again once they are gone', async () => {
    const held = Array.from({ length: 20 }, () => slowClient('GET /healthz HTTP/1.1\r\n', 'X'));
    await Promise.all(held.map(({ socket }) => new Promise((resolve) => socket.once('connect', resolve))));
    await expect(healthz()).rejects.toThrow();
    for (const { socket } of held) socket.destroy();
    await Promise.all(held.map(({ closed }) => closed));
    // The server learns of the closes asynchronously: poll until it serves again.
    const deadline = Date.now() + 10_000;
    let status = 0;
    while (Date.now() < deadline && status !== 200) {
      status = await healthz().catch(() => 0);
      if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(status).toBe(200);
  }, 30_000);

  it('keeps its data folder and database owner-only', () => {
    const dataDir = join(dirname(configPath), 'data');
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dataDir, 'gateway.db')).mode & 0o777).toBe(0o600);
  });
});
