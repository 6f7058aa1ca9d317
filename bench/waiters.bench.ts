/**
 * Long-poll waiters at scale on the local gateway (`npm start`'s bundle): BENCH_WAITERS agents'
 * long-polls (default 10,000) held open at once on BENCH_WAITER_REQUESTS pending requests, then
 * each request approved in turn. Reported: the gateway's resident memory per waiter (RSS with the
 * waiters held, minus RSS before, over their number) and, for every waiter, the time from sending
 * the deciding approval to its answer. Goal (issue 18): every waiter answered within 100 ms.
 *
 *   npm run bench -- waiters        BENCH_WAITERS=2000 npm run bench -- waiters
 *   BENCH_WORKERS=2 npm run bench -- waiters   (the waiters spread over two worker processes)
 */
import { readdirSync, readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { goal, machine, processTree, startGateway, stop, workerSettings } from './harness.ts';

const WAITERS = Number(process.env.BENCH_WAITERS ?? 10_000);
const REQUESTS = Number(process.env.BENCH_WAITER_REQUESTS ?? 100);
const WAVE = 500;
// One run: of a list (BENCH_WORKERS=default,2, as the gateway bench takes), the last setting.
const WORKERS = workerSettings().at(-1);
const AGENT = { token: 'bench-agent-token-0123456789', id: 'agent:bench' };
// A platform member: the read below needs one platform approval.
const APPROVER = { token: 'bench-erin-token-0123456789', id: 'user:erin@example.gov' };
// A read of a resource the inventory does not know is production: one platform approval.
const PROD_READ = JSON.stringify({
  action: { name: 'logs.read', args: { group: '/aws/lambda/payments' } },
  resource: {
    type: 'aws:logs:log-group',
    id: 'arn:aws:logs:us-east-1:123456789012:log-group:payments',
    properties: { environment: 'prod' },
  },
  context: { justification: 'benchmark' },
});

/** Resident memory of the gateway's processes (primary and workers) in bytes. */
function rssBytes(pid: number | undefined): number {
  return processTree(pid).reduce((sum, p) => sum + processRss(p), 0);
}

/** Open files of the gateway's processes: one per held socket, in whichever worker holds it. */
function openFiles(pid: number | undefined): number {
  return processTree(pid).reduce((sum, p) => sum + processFiles(p), 0);
}

/** Resident memory of one process in bytes (Linux /proc; NaN elsewhere). */
function processRss(pid: number | undefined): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match?.[1] ? Number(match[1]) * 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

function processFiles(pid: number | undefined): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return Number.NaN;
  }
}

// One socket per waiter, as separate agents would hold, kept for the waiter's next poll.
const agent = new Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY });
// Submissions and votes: a connection each, closed after, so the open-file count is the waiters'.
const oneShot = new Agent({ keepAlive: false });

function call(
  base: string,
  token: string,
  method: string,
  path: string,
  body?: string,
  via: Agent = oneShot,
): Promise<{ status: number; body: string }> {
  return new Promise((resolveCall, reject) => {
    const req = request(
      `${base}${path}`,
      {
        method,
        agent: via,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolveCall({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const gateway = await startGateway({
    principals: [AGENT, APPROVER],
    limits: { callsPerMinute: 1_000_000, submissionsPerMinute: 100_000, maxPending: 1_000_000 },
    server: { maxConnections: WAITERS + 1_000 },
    // BENCH_WORKERS=2: the waiters spread over two processes (default: as `npm start` runs).
    ...(WORKERS !== undefined ? { workers: WORKERS } : {}),
  });
  const pid = gateway.child.pid;
  try {
    const pending: { id: string; actionHash: string }[] = [];
    for (let i = 0; i < REQUESTS; i++) {
      const res = await call(gateway.url, AGENT.token, 'POST', '/v1/action-requests', PROD_READ);
      const view = JSON.parse(res.body) as { id: string; action_hash: string; status: string };
      if (view.status !== 'pending') throw new Error(`expected a pending request, got ${res.body}`);
      pending.push({ id: view.id, actionHash: view.action_hash });
    }
    await sleep(500);
    const rssBefore = rssBytes(pid);
    const filesBefore = openFiles(pid);
    const filesBeforeEach = new Map(processTree(pid).map((p) => [p, processFiles(p)]));

    const decidedAt = new Map<string, number>();
    const latencies: number[] = [];
    const wrong: string[] = [];
    const connectStarted = performance.now();
    // Each waiter polls as an agent would: a long-poll that times out still pending is sent again.
    const waitFor = async (target: { id: string }) => {
      for (;;) {
        const res = await call(
          gateway.url,
          AGENT.token,
          'GET',
          `/v1/action-requests/${target.id}?wait=25`,
          undefined,
          agent,
        );
        const answered = performance.now();
        const status = (JSON.parse(res.body) as { status?: string }).status;
        const decided = decidedAt.get(target.id);
        // Timed out pending (also when its 25 s ran out just as the approval was on its way): again.
        if (res.status === 200 && status === 'pending') continue;
        if (res.status !== 200 || status !== 'approved' || decided === undefined) {
          wrong.push(`${res.status} ${status ?? res.body.slice(0, 120)}`);
          return;
        }
        latencies.push(answered - decided);
        return;
      }
    };
    // Opened in waves, each accepted (one open file per socket) before the next: a burst of 10,000
    // connects at once overflows the listen backlog, which is not what is measured here.
    const waiters: Promise<void>[] = [];
    for (let opened = 0; opened < WAITERS; ) {
      const wave = Math.min(WAVE, WAITERS - opened);
      for (let i = 0; i < wave; i++, opened++) {
        const target = pending[opened % pending.length];
        if (!target) throw new Error('no pending request');
        waiters.push(waitFor(target).catch((error: unknown) => void wrong.push(String(error))));
      }
      for (let i = 0; openFiles(pid) < filesBefore + opened; i++) {
        if (i > 600)
          throw new Error(`only ${openFiles(pid) - filesBefore} of ${opened} waiters connected in 60 s`);
        await sleep(50);
      }
    }
    await sleep(1_000);
    const connectMs = performance.now() - connectStarted;
    const rssHeld = rssBytes(pid);
    // Where the waiters are: the sockets each process holds beyond what it held before.
    const spread = processTree(pid)
      .map((p) => processFiles(p) - (filesBeforeEach.get(p) ?? 0))
      .filter((n) => n > 0);

    const decideStarted = performance.now();
    for (const { id, actionHash } of pending) {
      decidedAt.set(id, performance.now());
      const vote = JSON.stringify({ decision: 'approve', action_hash: actionHash });
      const res = await call(
        gateway.url,
        APPROVER.token,
        'POST',
        `/v1/action-requests/${id}/decisions`,
        vote,
      );
      if (res.status !== 200) throw new Error(`approval answered ${res.status}: ${res.body}`);
    }
    await Promise.all(waiters);
    const decideMs = performance.now() - decideStarted;

    latencies.sort((a, b) => a - b);
    const at = (q: number) =>
      latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
    const perWaiter = (rssHeld - rssBefore) / WAITERS;
    console.log(
      `${WAITERS} long-poll waiters on ${REQUESTS} pending requests, held by ${gateway.workers} worker process(es) ` +
        `(${spread.join(' + ')} sockets); ${machine()}`,
    );
    console.log(
      `connected in ${(connectMs / 1000).toFixed(1)} s; gateway RSS ${(rssBefore / 2 ** 20).toFixed(0)} MB → ` +
        `${(rssHeld / 2 ** 20).toFixed(0)} MB with the waiters held: ${(perWaiter / 1024).toFixed(1)} KiB per waiter`,
    );
    console.log(
      `approved ${REQUESTS} requests in ${(decideMs / 1000).toFixed(1)} s; approval sent → waiter answered: ` +
        `p50 ${at(0.5).toFixed(1)} ms, p99 ${at(0.99).toFixed(1)} ms, max ${at(1).toFixed(1)} ms; ` +
        `${latencies.length} answered approved, ${wrong.length} otherwise${wrong.length ? ` (first: ${wrong[0]})` : ''}`,
    );
    goal(
      'slowest of the waiters answered after its decision',
      wrong.length === 0 ? Math.round(at(1) * 10) / 10 : Number.NaN,
      '≤',
      100,
      ' ms',
    );
  } finally {
    agent.destroy();
    oneShot.destroy();
    await stop(gateway.child);
  }
}

await main();
