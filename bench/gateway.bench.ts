/**
 * Local gateway throughput and latency on the auto-allowed path (policy allows at once): the real
 * gateway process as `npm start` runs it (the bundle, SQLite on disk, default policy bundle) under
 * autocannon, beside a bare Node HTTP server measured the same way as the ceiling of this machine.
 *
 * Targets (docs/design.md#7-targets): ≥ 3,000 requests/s on 2 cores; p99 ≤ 20 ms at 1,000 requests/s.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import autocannon from 'autocannon';
import { PROD_CUI_EXPORT } from '../test/fixtures/requests.ts';

const ROOT = resolve(import.meta.dirname, '..');
const TOKEN = 'bench-agent-token-0123456789';
const APPROVERS = [
  { token: 'bench-bob-token-0123456789', id: 'user:bob@example.gov' },
  { token: 'bench-carol-token-0123456789', id: 'user:carol@example.gov' },
];
const WAKE_ROUNDS = Number(process.env.BENCH_WAKE_ROUNDS ?? 200);
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10);

const readOnlyNonProd = JSON.stringify({
  action: { name: 'logs.read', args: { group: '/aws/lambda/payments' } },
  resource: {
    type: 'aws:logs:log-group',
    id: 'arn:aws:logs:us-east-1:123456789012:log-group:payments',
    properties: { environment: 'dev' },
  },
  context: { justification: 'benchmark' },
});

function startChild(args: string[], ready: RegExp): Promise<{ child: ChildProcess; url: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = ready.exec(out);
      if (match?.[1]) resolvePromise({ child, url: match[1] });
    });
    child.once('exit', (code) => reject(new Error(`exited with ${code} before ready:\n${out}`)));
  });
}

async function load(url: string, options: { body?: string; rate?: number; connections: number }) {
  const result = await autocannon({
    url,
    method: options.body ? 'POST' : 'GET',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    ...(options.body ? { body: options.body } : {}),
    connections: options.connections,
    duration: DURATION_S,
    ...(options.rate ? { overallRate: options.rate } : {}),
  });
  return {
    rps: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    total: result.requests.total,
  };
}

type Row = Awaited<ReturnType<typeof load>> & { what: string };
function print(rows: Row[]): void {
  console.log('\nLocal gateway (auto-allowed POST /v1/action-requests), %d s per run', DURATION_S);
  console.log(
    'what'.padEnd(52),
    'req/s'.padStart(8),
    'p50 ms'.padStart(8),
    'p99 ms'.padStart(8),
    'non-2xx'.padStart(8),
    'errors'.padStart(7),
  );
  for (const r of rows) {
    console.log(
      r.what.padEnd(52),
      String(r.rps).padStart(8),
      String(r.p50).padStart(8),
      String(r.p99).padStart(8),
      String(r.non2xx).padStart(8),
      String(r.errors).padStart(7),
    );
  }
}

const prodExport = JSON.stringify({ ...PROD_CUI_EXPORT, context: { justification: 'benchmark' } });

/**
 * docs/design.md#7-targets "approve click → waiting agent answered ≤ 100 ms": the agent long-polls a pending
 * request; the time from sending the deciding approval to the agent's long-poll answer.
 */
async function approveToAnswer(base: string): Promise<{ p50: number; p99: number; max: number }> {
  const call = (token: string, method: string, path: string, body?: string) =>
    fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body } : {}),
    });
  const samples: number[] = [];
  for (let i = 0; i < WAKE_ROUNDS; i++) {
    const view = (await (await call(TOKEN, 'POST', '/v1/action-requests', prodExport)).json()) as {
      id: string;
      action_hash: string;
      status: string;
    };
    if (view.status !== 'pending') throw new Error(`expected a pending request, got ${view.status}`);
    const vote = JSON.stringify({ decision: 'approve', action_hash: view.action_hash });
    const path = `/v1/action-requests/${view.id}`;
    await call(APPROVERS[0]?.token ?? '', 'POST', `${path}/decisions`, vote);
    const waiting = call(TOKEN, 'GET', `${path}?wait=20`).then(async (res) => {
      const answered = performance.now();
      const body = (await res.json()) as { status: string };
      return { answered, status: body.status };
    });
    await new Promise((r) => setTimeout(r, 5)); // let the long-poll reach the gateway
    const sent = performance.now();
    await call(APPROVERS[1]?.token ?? '', 'POST', `${path}/decisions`, vote);
    const { answered, status } = await waiting;
    if (status !== 'approved') throw new Error(`long-poll answered ${status}`);
    samples.push(answered - sent);
  }
  samples.sort((a, b) => a - b);
  const at = (q: number) =>
    Math.round((samples[Math.min(samples.length - 1, Math.floor(q * samples.length))] ?? 0) * 10) / 10;
  return { p50: at(0.5), p99: at(0.99), max: at(1) };
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  let wake: { p50: number; p99: number; max: number } | undefined;
  // The ceiling: a bare Node HTTP server answering a small JSON body.
  const bare = await startChild(
    [
      '-e',
      `require('node:http').createServer((q,s)=>{q.resume();q.on('end',()=>{s.writeHead(200,{'content-type':'application/json'});s.end('{"ok":true}')})}).listen(0,'127.0.0.1',function(){console.log('ready http://127.0.0.1:'+this.address().port)})`,
    ],
    /ready (http:\/\/127\.0\.0\.1:\d+)/,
  );
  try {
    rows.push({
      what: 'bare Node HTTP server, max (50 connections)',
      ...(await load(bare.url, { body: readOnlyNonProd, connections: 50 })),
    });
  } finally {
    bare.child.kill();
  }

  const dir = mkdtempSync(join(tmpdir(), 'ala-bench-'));
  const config = join(dir, 'gateway.json');
  writeFileSync(
    config,
    JSON.stringify({
      port: 0,
      dataDir: join(dir, 'data'),
      principals: [{ token: TOKEN, id: 'agent:bench' }, ...APPROVERS],
      logLevel: 'warn',
      // Throughput is measured here, not the limits (bench/flood.bench.ts measures those).
      limits: { callsPerMinute: 1_000_000, submissionsPerMinute: 1_000_000, maxPending: 1_000_000 },
    }),
  );
  const gateway = await startChild(
    ['dist/gateway.js', '--config', config], // what `npm start` runs; bench/run.ts builds it first
    /listening on (http:\/\/127\.0\.0\.1:\d+)/,
  );
  try {
    const url = `${gateway.url}/v1/action-requests`;
    await load(url, { body: readOnlyNonProd, connections: 10 }); // warm-up (JIT, SQLite cache)
    rows.push({
      what: 'gateway, max (50 connections)',
      ...(await load(url, { body: readOnlyNonProd, connections: 50 })),
    });
    rows.push({
      what: 'gateway at 1,000 req/s (20 connections)',
      ...(await load(url, { body: readOnlyNonProd, connections: 20, rate: 1000 })),
    });
    wake = await approveToAnswer(gateway.url);
    rows.push({
      what: 'gateway GET /healthz, max (50 connections)',
      ...(await load(`${gateway.url}/healthz`, { connections: 50 })),
    });
  } finally {
    gateway.child.kill('SIGTERM');
  }
  print(rows);
  if (wake) {
    console.log(
      `\napprove click → waiting agent answered (${WAKE_ROUNDS} rounds): p50 ${wake.p50} ms, p99 ${wake.p99} ms, max ${wake.max} ms (target ≤ 100 ms: ${wake.p99 <= 100 ? 'met' : 'NOT met'})`,
    );
  }
  const max = rows[1];
  const paced = rows[2];
  if (max && paced) {
    console.log(
      `\ntargets: ≥ 3000 req/s → ${max.rps} (${max.rps >= 3000 ? 'met' : 'NOT met'}); p99 ≤ 20 ms at 1,000 req/s → ${paced.p99} ms (${paced.p99 <= 20 ? 'met' : 'NOT met'}); ceiling ${rows[0]?.rps} req/s`,
    );
  }
}

await main();
