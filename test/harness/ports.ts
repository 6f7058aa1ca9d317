// Free TCP ports, picked by the kernel (never a fixed port).
import { createServer } from 'node:net';

export const LOOPBACK = '127.0.0.1';

const handedOut = new Set<number>();

function ephemeralPort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host, port: 0, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : undefined;
      server.close(() => (port === undefined ? reject(new Error('no port assigned')) : resolve(port)));
    });
  });
}

/**
 * A port that is free on `host` right now, and that this process has not handed out before.
 * Another process may still take it before the emulator binds it: the emulator starters retry
 * with a new port when that happens.
 */
export async function freePort(host: string = LOOPBACK): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await ephemeralPort(host);
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free port found on ${host}`);
}
