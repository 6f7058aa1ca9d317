/**
 * MCP proxy overhead: latency of an allowed `tools/call` (server-everything's `echo`) made
 * directly to the upstream, and made through the proxy, which first asks the gateway (submit →
 * allowed by policy → redeem the one-shot grant), then forwards, then reports the outcome. The
 * gateway is the bundle `npm start` runs (SQLite on disk); the upstream is a stdio process; the
 * proxy runs in this process, linked to its MCP client in memory, so the difference is the gating.
 * Sequential calls, one at a time, after a warm-up.
 *
 *   npm run bench -- mcp          BENCH_MCP_CALLS=1000 npm run bench -- mcp
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { ApprovalsClient } from '../client/index.ts';
import { createMcpProxy } from '../functions/mcp/proxy.ts';

const ROOT = resolve(import.meta.dirname, '..');
const TOKEN = 'bench-agent-token-0123456789';
const CALLS = Number(process.env.BENCH_MCP_CALLS ?? 300);
const WARMUP = 30;
const EVERYTHING = createRequire(import.meta.url).resolve(
  '@modelcontextprotocol/server-everything/dist/index.js',
);

function startGateway(): Promise<{ child: ChildProcess; url: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'ala-bench-mcp-'));
  const data = JSON.parse(readFileSync(join(ROOT, 'policies/build/data.json'), 'utf8'));
  data.read_only.actions.push('mcp.everything.echo');
  data.inventory.unshift({ match: 'everything', attributes: { environment: 'dev' } });
  writeFileSync(join(dir, 'data.json'), JSON.stringify(data));
  writeFileSync(
    join(dir, 'gateway.json'),
    JSON.stringify({
      port: 0,
      dataDir: join(dir, 'data'),
      policy: { wasm: join(ROOT, 'policies/build/policy.wasm'), data: join(dir, 'data.json') },
      principals: [{ id: 'agent:demo-exporter', token: TOKEN }],
      logLevel: 'warn',
    }),
  );
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['dist/gateway.js', '--config', join(dir, 'gateway.json')], {
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

async function upstreamClient(): Promise<Client> {
  const client = new Client({ name: 'bench', version: '1.0.0' });
  await client.connect(
    new StdioClientTransport({ command: process.execPath, args: [EVERYTHING, 'stdio'], stderr: 'ignore' }),
  );
  return client;
}

async function measure(client: Client): Promise<{ p50: number; p99: number; mean: number }> {
  const call = () => client.callTool({ name: 'echo', arguments: { message: 'bench' } });
  for (let i = 0; i < WARMUP; i += 1) await call();
  const samples: number[] = [];
  for (let i = 0; i < CALLS; i += 1) {
    const start = performance.now();
    const result = await call();
    samples.push(performance.now() - start);
    if (result.isError) throw new Error(`echo failed: ${JSON.stringify(result)}`);
  }
  samples.sort((a, b) => a - b);
  const at = (q: number) =>
    samples[Math.min(samples.length - 1, Math.ceil(q * samples.length) - 1)] ?? Number.NaN;
  return { p50: at(0.5), p99: at(0.99), mean: samples.reduce((sum, x) => sum + x, 0) / samples.length };
}

const gateway = await startGateway();
/** Time of each gateway call the proxy makes, by method and path. */
const steps = new Map<string, number[]>();
try {
  const direct = await upstreamClient();
  const proxiedUpstream = await upstreamClient();
  const proxy = createMcpProxy({
    gateway: new ApprovalsClient({
      baseUrl: gateway.url,
      token: TOKEN,
      fetch: async (url, init) => {
        const start = performance.now();
        const response = await fetch(url, init);
        const step = `${init?.method ?? 'GET'} ${new URL(String(url)).pathname.replace(/ar_[0-9A-Z]+/, '{id}')}`;
        const list = steps.get(step) ?? [];
        list.push(performance.now() - start);
        steps.set(step, list);
        return response;
      },
    }),
    upstream: proxiedUpstream,
    server: 'everything',
  });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await proxy.connect(serverSide);
  const proxied = new Client({ name: 'bench-agent', version: '1.0.0' });
  await proxied.connect(clientSide);

  const rows = [
    { what: 'direct to the upstream (stdio)', ...(await measure(direct)) },
    { what: 'through the proxy (gated, allowed)', ...(await measure(proxied)) },
  ];
  const [directRow, proxiedRow] = rows as [(typeof rows)[0], (typeof rows)[0]];
  console.log(`allowed tools/call (echo), ${CALLS} sequential calls after ${WARMUP} warm-up`);
  console.log(`${'path'.padEnd(38)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}${'mean ms'.padStart(9)}`);
  for (const row of rows) {
    console.log(
      `${row.what.padEnd(38)}${row.p50.toFixed(2).padStart(9)}${row.p99.toFixed(2).padStart(9)}${row.mean.toFixed(2).padStart(9)}`,
    );
  }
  console.log(
    `${'proxy overhead'.padEnd(38)}${(proxiedRow.p50 - directRow.p50).toFixed(2).padStart(9)}${(proxiedRow.p99 - directRow.p99).toFixed(2).padStart(9)}${(proxiedRow.mean - directRow.mean).toFixed(2).padStart(9)}`,
  );
  console.log('gateway calls made by the proxy per allowed call (median ms):');
  for (const [step, list] of steps) {
    list.sort((a, b) => a - b);
    console.log(`  ${step.padEnd(44)}${(list[Math.floor(list.length / 2)] ?? 0).toFixed(2).padStart(8)}`);
  }
  await proxied.close();
  await direct.close();
  await proxiedUpstream.close();
} finally {
  gateway.child.kill('SIGTERM');
}
