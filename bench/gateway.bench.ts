/**
 * Local gateway throughput and latency on the auto-allowed path (policy allows at once): the real
 * gateway process (SQLite on disk, default policy bundle) under autocannon, beside a bare Node HTTP
 * server measured the same way as the ceiling of this machine.
 *
 * Targets (DESIGN §7): ≥ 3,000 requests/s on 2 cores; p99 ≤ 20 ms at 1,000 requests/s.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import autocannon from 'autocannon';

const ROOT = resolve(import.meta.dirname, '..');
const TOKEN = 'bench-agent-token-0123456789';
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

async function main(): Promise<void> {
  const rows: Row[] = [];
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
      principals: [{ token: TOKEN, id: 'agent:bench' }],
      logLevel: 'warn',
    }),
  );
  const gateway = await startChild(
    ['--import', 'tsx', 'functions/local/main.ts', '--config', config],
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
    rows.push({
      what: 'gateway GET /healthz, max (50 connections)',
      ...(await load(`${gateway.url}/healthz`, { connections: 50 })),
    });
  } finally {
    gateway.child.kill('SIGTERM');
  }
  print(rows);
  const max = rows[1];
  const paced = rows[2];
  if (max && paced) {
    console.log(
      `\ntargets: ≥ 3000 req/s → ${max.rps} (${max.rps >= 3000 ? 'met' : 'NOT met'}); p99 ≤ 20 ms at 1,000 req/s → ${paced.p99} ms (${paced.p99 <= 20 ? 'met' : 'NOT met'}); ceiling ${rows[0]?.rps} req/s`,
    );
  }
}

await main();
