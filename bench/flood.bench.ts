/**
 * One agent floods the local gateway with submissions that each need approval. Measured: how many
 * of its calls the limits answer 429, how /healthz answers meanwhile, whether another agent's
 * request then heads the approvers' first page, and what listings cost afterwards (an approver's
 * pending page, and a caller who may see none of the flood). The real gateway process as `npm
 * start` runs it (the bundle, SQLite on disk, default policy bundle), with its default limits.
 *
 * `npm run bench -- flood`; BENCH_FLOOD_S (default 8) sets how long the flood lasts.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import autocannon from 'autocannon';
import { PROD_CUI_EXPORT } from '../test/fixtures/requests.ts';
import { signedBundleCopy, testKeys } from '../test/support/signed-bundle.ts';

const ROOT = resolve(import.meta.dirname, '..');
const FLOOD_S = Number(process.env.BENCH_FLOOD_S ?? 8);
const P = {
  flooder: { token: 'bench-flood-token-0123456789', id: 'agent:flooder' },
  other: { token: 'bench-other-token-0123456789', id: 'agent:other' },
  bob: { token: 'bench-bob-token-0123456789', id: 'user:bob@example.gov' },
  nobody: { token: 'bench-nobody-token-0123456789', id: 'user:nobody@example.gov' },
};

function start(config: string): Promise<{ child: ChildProcess; url: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['dist/gateway.js', '--config', config], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (match?.[1]) resolvePromise({ child, url: match[1] });
    });
    child.once('exit', (code) => reject(new Error(`gateway exited with ${code} before listening:\n${out}`)));
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

function summary(samples: number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  const fmt = (n: number) => n.toFixed(1);
  return `p50 ${fmt(percentile(sorted, 50))} ms, p99 ${fmt(percentile(sorted, 99))} ms, max ${fmt(sorted.at(-1) ?? Number.NaN)} ms (${sorted.length} calls)`;
}

async function timed(call: () => Promise<Response>): Promise<{ ms: number; response: Response }> {
  const started = performance.now();
  const response = await call();
  await response.arrayBuffer();
  return { ms: performance.now() - started, response };
}

const dir = mkdtempSync(join(tmpdir(), 'ala-bench-flood-'));
const config = join(dir, 'gateway.json');
// With configured principals the gateway loads only bundles signed with the operator's key.
const keys = testKeys(dir);
const bundle = signedBundleCopy(keys, undefined, join(dir, 'bundle'));
writeFileSync(
  config,
  JSON.stringify({
    port: 0,
    dataDir: join(dir, 'data'),
    policy: { wasm: bundle.wasm, data: bundle.data, verificationKey: keys.publicKeyPath },
    principals: Object.values(P),
    logLevel: 'error',
  }),
);

/**
 * /healthz every 20 ms from a thread of its own: on this thread the probe's answers would wait
 * behind autocannon's 50 connections in this process's event loop, and the figure would be the
 * bench's queue, not the gateway's. Ready once one untimed call has gone through: a thread's first
 * fetch compiles Node's HTTP client (undici) and opens the connection, which under the flood took
 * 330–500 ms of the thread's own time and was the probe's slowest sample in every run.
 */
async function startProbe(url: string): Promise<{ stop(): Promise<number[]> }> {
  const worker = new Worker(
    `
    const { parentPort, workerData } = require('node:worker_threads');
    const samples = [];
    let running = true;
    parentPort.on('message', () => { running = false; });
    (async () => {
      await (await fetch(workerData + '/healthz')).arrayBuffer();
      parentPort.postMessage('ready');
      while (running) {
        const started = performance.now();
        const response = await fetch(workerData + '/healthz');
        await response.arrayBuffer();
        samples.push(performance.now() - started);
        await new Promise((r) => setTimeout(r, 20));
      }
      parentPort.postMessage(samples);
    })();
    `,
    { eval: true, workerData: url },
  );
  await new Promise<void>((resolveReady, reject) => {
    worker.once('message', () => resolveReady());
    worker.once('error', reject);
  });
  return {
    stop: () =>
      new Promise((resolvePromise) => {
        worker.once('message', (samples: number[]) => {
          void worker.terminate();
          resolvePromise(samples);
        });
        worker.postMessage('stop');
      }),
  };
}
const gateway = await start(config);
try {
  const as = (who: keyof typeof P, path: string, init: RequestInit = {}) =>
    fetch(`${gateway.url}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${P[who].token}`, 'content-type': 'application/json' },
    });

  // /healthz every 20 ms for the whole flood, on its own connection and thread.
  const probe = await startProbe(gateway.url);
  const statuses = new Map<number, number>();
  const flood = await autocannon({
    url: `${gateway.url}/v1/action-requests`,
    method: 'POST',
    headers: { authorization: `Bearer ${P.flooder.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(PROD_CUI_EXPORT),
    connections: 50,
    duration: FLOOD_S,
    setupClient: (client) => {
      client.on('response', (status: number) => statuses.set(status, (statuses.get(status) ?? 0) + 1));
    },
  } as autocannon.Options);
  const health = await probe.stop();

  const total = flood.requests.total;
  const refused = statuses.get(429) ?? 0;
  console.log(`\nFlood: one agent, 50 connections, ${FLOOD_S} s, every request needing approval`);
  console.log(
    `  calls ${total} (${Math.round(flood.requests.average)}/s); by status ${JSON.stringify(Object.fromEntries(statuses))}`,
  );
  console.log(
    `  429 rate ${((100 * refused) / Math.max(1, total)).toFixed(1)} %; pending created ${statuses.get(202) ?? 0}`,
  );
  console.log(`  /healthz during the flood: ${summary(health)}`);

  const other = (await (
    await as('other', '/v1/action-requests', { method: 'POST', body: JSON.stringify(PROD_CUI_EXPORT) })
  ).json()) as { id: string };
  const page = (await (await as('bob', '/v1/action-requests?limit=10')).json()) as {
    items: { id: string }[];
  };
  const position = page.items.findIndex((item) => item.id === other.id);
  console.log(
    `  another agent's request on the approver's first page: ${position >= 0 ? `yes, at ${position + 1}` : 'NO'}`,
  );

  const approver: number[] = [];
  const outsider: number[] = [];
  for (let i = 0; i < 50; i++) {
    approver.push((await timed(() => as('bob', '/v1/action-requests?limit=100'))).ms);
    outsider.push((await timed(() => as('nobody', '/v1/action-requests?limit=100'))).ms);
  }
  console.log(`  approver's pending page (limit 100): ${summary(approver)}`);
  console.log(`  pending page of a caller eligible for none: ${summary(outsider)}`);
} finally {
  gateway.child.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
}
