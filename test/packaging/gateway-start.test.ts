/**
 * `npm start` as a newcomer runs it: the bundled gateway in one Node process (no TypeScript loader,
 * no esbuild service), and a plain answer when the port is taken. Timings are measured by
 * `npm run bench -- startup`, not asserted here.
 */
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayConfig, PRINCIPALS } from '../support/gateway-process.ts';
import {
  descendants,
  pidListeningOn,
  processes,
  ROOT,
  run,
  type Started,
  startUntilListening,
} from './processes.ts';

const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

describe.runIf(process.platform === 'linux')('npm start', () => {
  let started: Started | undefined;

  beforeAll(async () => {
    started = await startUntilListening(NPM, ['start', '--', '--config', gatewayConfig()]);
  });
  afterAll(async () => {
    await started?.stop();
  });

  it('serves the API from one node process running the bundle, with no child processes', async () => {
    if (!started) throw new Error('npm start did not start');
    const port = Number(new URL(started.url).port);
    const tree = descendants(started.child.pid ?? -1);
    const server = pidListeningOn(
      port,
      tree.map((p) => p.pid),
    );
    const nodes = tree.filter((p) => /^\S*node(\.exe)? /.test(p.command));

    expect((await fetch(`${started.url}/healthz`)).status).toBe(200);
    expect(nodes.map((p) => p.pid)).toEqual([server]);
    expect(nodes[0]?.command).toMatch(/^\S*node(\.exe)? dist\/gateway\.js --config /);
    expect(tree.filter((p) => p.ppid === server)).toEqual([]);
    expect(tree.filter((p) => /tsx|esbuild/.test(p.command))).toEqual([]);
    // Besides the gateway there is at most the shell npm runs scripts with (some exec node instead).
    expect(tree.filter((p) => p.pid !== server && !/^(\S*\/)?sh -c /.test(p.command))).toEqual([]);
  });

  it('commits a submission durably and reads it back (the store writes from a thread started by the bundle)', async () => {
    if (!started) throw new Error('npm start did not start');
    const headers = {
      authorization: `Bearer ${PRINCIPALS.agent.token}`,
      'content-type': 'application/json',
    };
    const submitted = await fetch(`${started.url}/v1/action-requests`, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        action: { name: 's3.objects.list', args: { prefix: 'reports/' } },
        resource: {
          type: 'aws:s3:bucket',
          id: 'arn:aws:s3:::dev-reports',
          properties: { environment: 'dev' },
        },
        context: { justification: 'packaging check' },
      }),
    });
    const body = (await submitted.json()) as { id?: string; status?: string; message?: string };
    expect(submitted.status, body.message).toBe(200);
    expect(body.status).toBe('approved');
    const read = await fetch(`${started.url}/v1/action-requests/${body.id}`, { headers });
    expect(read.status).toBe(200);
    expect(((await read.json()) as { status?: string }).status).toBe('approved');
  });

  it('stops on Ctrl-C (SIGINT to the group) and leaves no process behind', async () => {
    if (!started) throw new Error('npm start did not start');
    const tree = descendants(started.child.pid ?? -1);

    await started.stop();

    const alive = new Set(processes().map((p) => p.pid));
    expect(tree.length).toBeGreaterThan(0);
    expect(tree.filter((p) => alive.has(p.pid))).toEqual([]);
  });
});

describe('a port already in use', () => {
  let holder: Server;
  let port = 0;

  beforeAll(async () => {
    holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    port = (holder.address() as { port: number }).port;
  });
  afterAll(async () => {
    await new Promise((resolve) => holder.close(resolve));
  });

  it('stops the gateway with a message naming the port and how to choose another, and no stack trace', async () => {
    // The command `npm start` runs, so the exit code is the gateway's own.
    const result = await run(
      process.execPath,
      ['dist/gateway.js', '--config', gatewayConfig(), '--port', String(port)],
      ROOT,
    );

    expect(result.code).toBe(2);
    expect(result.stdout).not.toContain('listening on');
    expect(result.stderr).toContain(`port ${port} on 127.0.0.1 is already in use`);
    expect(result.stderr).toContain('--port <n>');
    expect(result.stderr).toContain('"port" key of the config file');
    expect(result.stderr).not.toMatch(/^\s+at /m);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });
});
