/**
 * What the benches share: the machine they ran on (CPU, Node, load average next to every figure,
 * since the machine may be shared), a gateway process as `npm start` runs it with a bundle signed
 * by a key made for the run, autocannon runs, and one way to print a goal as met / NOT met.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import autocannon from 'autocannon';
import { signedBundleCopy, testKeys } from '../test/support/signed-bundle.ts';

export const ROOT = resolve(import.meta.dirname, '..');

/** `load 7.2` — the 1-minute load average, printed beside each figure it may have colored. */
export function load(): string {
  return `load ${loadavg()[0]?.toFixed(1)}`;
}

export function machine(): string {
  return `node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'unknown cpu'}, ${load()}`;
}

/** One goal line: `goal: <what> <op> <target> → <got> (met | NOT met)`. */
export function goal(what: string, got: number, op: '≤' | '≥', target: number, unit = ''): boolean {
  const met = Number.isFinite(got) && (op === '≤' ? got <= target : got >= target);
  const shown = Number.isInteger(got) ? String(got) : got.toFixed(2);
  console.log(
    `goal: ${what} ${op} ${target}${unit} → ${shown}${unit} (${met ? 'met' : 'NOT met'}; ${load()})`,
  );
  return met;
}

export function startChild(
  args: string[],
  ready: RegExp,
  options: { cwd?: string; env?: NodeJS.ProcessEnv; command?: string } = {},
): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(options.command ?? process.execPath, args, {
      cwd: options.cwd ?? ROOT,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = ready.exec(out);
      if (match?.[1]) resolvePromise({ child, url: match[1], output: () => out });
    });
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`exited with ${code} before ready:\n${out}`)));
  });
}

export interface GatewayOptions {
  readonly principals: readonly { readonly token: string; readonly id: string }[];
  readonly limits?: Record<string, number>;
  readonly server?: Record<string, number>;
  /** Extra Node flags for the gateway process (e.g. --max-old-space-size). */
  readonly nodeArgs?: readonly string[];
  /** The config's `workers`; @default left out, as `npm start` runs with the default. */
  readonly workers?: number | 'auto';
}

/**
 * BENCH_WORKERS, the gateway settings a bench runs with, in order: `default` (the config leaves
 * `workers` out, as `npm start` runs), `auto`, or a number of processes; e.g. `default,2`.
 */
export function workerSettings(): (number | 'auto' | undefined)[] {
  return (process.env.BENCH_WORKERS ?? 'default').split(',').map((entry) => {
    const value = entry.trim();
    if (value === 'default') return undefined;
    if (value === 'auto') return 'auto';
    if (/^[1-9]\d*$/.test(value)) return Number(value);
    throw new Error(`BENCH_WORKERS: "${value}" is not default, auto or a number of processes`);
  });
}

/**
 * The gateway bundle (`npm start`; bench/run.ts builds it first) on an empty data directory, with
 * the default policy bundle signed by a key made for this run (configured principals require it).
 */
export async function startGateway(
  options: GatewayOptions,
): Promise<{ child: ChildProcess; url: string; workers: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'ala-bench-'));
  const keys = testKeys(dir);
  const bundle = signedBundleCopy(keys, undefined, join(dir, 'bundle'));
  const config = join(dir, 'gateway.json');
  writeFileSync(
    config,
    JSON.stringify({
      port: 0,
      dataDir: join(dir, 'data'),
      policy: { wasm: bundle.wasm, data: bundle.data, verificationKey: keys.publicKeyPath },
      principals: options.principals,
      logLevel: 'warn',
      ...(options.limits ? { limits: options.limits } : {}),
      ...(options.server ? { server: options.server } : {}),
      ...(options.workers !== undefined ? { workers: options.workers } : {}),
    }),
  );
  const started = await startChild(
    [...(options.nodeArgs ?? []), 'dist/gateway.js', '--config', config],
    /listening on (http:\/\/127\.0\.0\.1:\d+)/,
  );
  // The banner (one write) names the workers; one process prints no such line.
  const workers = Number(/workers {3}(\d+) processes/.exec(started.output())?.[1] ?? 1);
  return { ...started, workers };
}

/** Stops a child and waits for it to exit. */
export function stop(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolveExit) => {
    child.once('exit', () => resolveExit());
    child.kill(signal);
  });
}

export interface LoadResult {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  /**
   * `paced` only: latency from the moment each request was handed to the socket (not from when it
   * was due), and how late the generator itself sent its requests. The generator's timers fire to
   * the millisecond at best, so its lateness is part of p50/p99 (from the due time) but none of
   * the server's doing; the two together show which side the time is on.
   */
  readonly sent?: { readonly p50: number; readonly p99: number };
  readonly late?: { readonly p50: number; readonly p99: number };
  readonly non2xx: number;
  readonly errors: number;
  readonly total: number;
  readonly load: string;
}

/** autocannon against one URL; POST when there is a body. */
export async function hammer(
  url: string,
  options: {
    body?: string;
    token?: string;
    rate?: number;
    connections: number;
    durationS: number;
  },
): Promise<LoadResult> {
  const result = await autocannon({
    url,
    method: options.body ? 'POST' : 'GET',
    headers: {
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      'content-type': 'application/json',
    },
    ...(options.body ? { body: options.body } : {}),
    connections: options.connections,
    duration: options.durationS,
    ...(options.rate ? { overallRate: options.rate } : {}),
  });
  return {
    rps: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    total: result.requests.total,
    load: load(),
  };
}

/**
 * An open-loop load at an even rate: one request every 1/rate s whatever the answers do, over
 * keep-alive connections (as many as are in flight at once, up to `maxConnections`). Each latency
 * is measured from the moment its request was due, not from when it went out, so a server (or a
 * generator) that falls behind shows in the figures (no coordinated omission). autocannon's
 * `overallRate` is a budget per second per connection instead: every connection sends its share
 * back to back at the start of each second, then waits, so its "1,000 req/s" is a burst of
 * `connections` requests in flight at a time.
 */
export async function paced(
  url: string,
  options: { body: string; token?: string; rate: number; durationS: number; maxConnections?: number },
): Promise<LoadResult> {
  const target = new URL(url);
  const agent = new Agent({ keepAlive: true, maxSockets: options.maxConnections ?? 64 });
  const headers = {
    ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(options.body),
  };
  const total = Math.round(options.rate * options.durationS);
  const intervalMs = 1000 / options.rate;
  const latencies: number[] = [];
  const fromSent: number[] = [];
  const lateness: number[] = [];
  let non2xx = 0;
  let errors = 0;
  const inFlight = new Set<Promise<void>>();
  const fire = (due: number): void => {
    const sentAt = performance.now();
    lateness.push(sentAt - due);
    const done = new Promise<void>((settle) => {
      const req = request(
        { host: target.hostname, port: target.port, path: target.pathname, method: 'POST', headers, agent },
        (res) => {
          res.resume();
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) {
              const answered = performance.now();
              latencies.push(answered - due);
              fromSent.push(answered - sentAt);
            } else non2xx++;
            settle();
          });
        },
      );
      req.on('error', () => {
        errors++;
        settle();
      });
      req.end(options.body);
    });
    inFlight.add(done);
    void done.then(() => inFlight.delete(done));
  };
  const start = performance.now();
  let sent = 0;
  await new Promise<void>((finish) => {
    const tick = (): void => {
      const due = Math.min(total, Math.floor((performance.now() - start) / intervalMs) + 1);
      while (sent < due) fire(start + sent++ * intervalMs);
      if (sent < total) setTimeout(tick, Math.max(0, start + sent * intervalMs - performance.now()));
      else finish();
    };
    tick();
  });
  await Promise.all([...inFlight]);
  const elapsedS = (performance.now() - start) / 1000;
  agent.destroy();
  return {
    rps: Math.round(latencies.length / elapsedS),
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    sent: { p50: quantile(fromSent, 0.5), p99: quantile(fromSent, 0.99) },
    late: { p50: quantile(lateness, 0.5), p99: quantile(lateness, 0.99) },
    non2xx,
    errors,
    total: sent,
    load: load(),
  };
}

/** The q-quantile of samples in ms, to 0.1 ms (sorts them in place); NaN when there are none. */
export function quantile(samples: number[], q: number): number {
  samples.sort((a, b) => a - b);
  const value = samples[Math.min(samples.length - 1, Math.floor(q * samples.length))] ?? Number.NaN;
  return Math.round(value * 10) / 10;
}

/** A process and its descendants (Linux /proc; just the process elsewhere): a gateway's workers. */
export function processTree(pid: number | undefined): number[] {
  if (pid === undefined) return [];
  const children = new Map<number, number[]>();
  try {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
      } catch {
        // Gone meanwhile.
      }
    }
  } catch {
    return [pid];
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) tree.push(...(children.get(tree[i] ?? -1) ?? []));
  return tree;
}

/** CPU time of a process and its descendants (a gateway's primary and workers), in ms. */
export function treeCpuMs(pid: number | undefined): number {
  return processTree(pid).reduce((sum, p) => sum + cpuMs(p), 0);
}

/**
 * CPU time (user + system, ms) a process has used so far, from /proc (Linux; NaN elsewhere). On a
 * shared machine, CPU time per request is steadier than requests per second: it does not count the
 * time the process waited for a core.
 */
export function cpuMs(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return (ticks * 1000) / 100;
  } catch {
    return Number.NaN;
  }
}
