/**
 * Gateway start-up: the time from spawning the process to the first 200 from `/healthz`, and the
 * resident memory of everything that was started (the process and its descendants) once it answers.
 * Median of BENCH_STARTUP_RUNS runs (default 5), each on an empty data directory, for
 *
 *   - `node dist/gateway.js`: the command `npm start` runs (the bundle `npm run build` makes);
 *   - `npm start`: the same, with npm's own start-up and its shell;
 *   - `npm run dev`: the sources through tsx (a TypeScript loader and an esbuild service).
 *
 *   npm run bench -- startup        BENCH_STARTUP_RUNS=11 npm run bench -- startup
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const ROOT = resolve(import.meta.dirname, '..');
const RUNS = Number(process.env.BENCH_STARTUP_RUNS ?? 5);
const GIVE_UP_MS = 60_000;
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

const VARIANTS: readonly { what: string; command: string; args: readonly string[] }[] = [
  {
    what: 'node dist/gateway.js (what npm start runs)',
    command: process.execPath,
    args: ['dist/gateway.js'],
  },
  { what: 'npm start', command: NPM, args: ['start', '--'] },
  { what: 'npm run dev (tsx, from source)', command: NPM, args: ['run', 'dev', '--'] },
];

interface Sample {
  readonly ms: number;
  readonly rssMb: number;
  readonly processes: number;
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePort(port));
    });
  });
}

/** RSS of `pid` and all its descendants, in MB, and how many processes that is (`ps`: Linux, macOS). */
function treeMemory(pid: number): { rssMb: number; processes: number } {
  const rows = execFileSync('ps', ['-A', '-o', 'pid=,ppid=,rss='], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((line) => line.trim().split(/\s+/).map(Number) as [number, number, number]);
  const tree = new Set([pid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [child, parent] of rows) {
      if (tree.has(parent) && !tree.has(child)) {
        tree.add(child);
        grew = true;
      }
    }
  }
  const kb = rows.filter(([p]) => tree.has(p)).reduce((sum, [, , rss]) => sum + rss, 0);
  return { rssMb: kb / 1024, processes: tree.size };
}

async function once(variant: (typeof VARIANTS)[number]): Promise<Sample> {
  const dir = mkdtempSync(join(tmpdir(), 'ala-startup-'));
  const port = await freePort();
  const config = join(dir, 'gateway.json');
  writeFileSync(
    config,
    JSON.stringify({
      port,
      dataDir: join(dir, 'data'),
      principals: [{ token: 'startup-bench-token-0123456789', id: 'agent:bench' }],
      logLevel: 'warn',
    }),
  );
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key)));
  const started = performance.now();
  // A process group of its own, so the whole tree stops together (as Ctrl-C in a terminal).
  const child = spawn(variant.command, [...variant.args, '--config', config], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'ignore', 'inherit'],
    detached: true,
  });
  let exited = false;
  const done = new Promise<void>((resolveExit) =>
    child.once('exit', () => {
      exited = true;
      resolveExit();
    }),
  );
  try {
    for (;;) {
      if (exited) throw new Error(`${variant.what} exited before answering /healthz`);
      if (performance.now() - started > GIVE_UP_MS) throw new Error(`${variant.what}: no /healthz in 60 s`);
      try {
        const res = await fetch(`http://127.0.0.1:${port}/healthz`);
        if (res.ok) break;
      } catch {
        // Not listening yet.
      }
      await sleep(5);
    }
    const ms = performance.now() - started;
    return { ms, ...treeMemory(child.pid ?? -1) };
  } finally {
    if (!exited && child.pid !== undefined) process.kill(-child.pid, 'SIGINT');
    await done;
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
};

console.log(`gateway start-up: spawn → first 200 from /healthz, median of ${RUNS} runs`);
console.log(
  'what'.padEnd(44),
  'median ms'.padStart(10),
  'min ms'.padStart(8),
  'max ms'.padStart(8),
  'RSS MB'.padStart(8),
  'processes'.padStart(10),
);
const figures: { what: string; ms: number }[] = [];
for (const variant of VARIANTS) {
  const samples: Sample[] = [];
  for (let i = 0; i < RUNS; i++) samples.push(await once(variant));
  const ms = samples.map((s) => s.ms);
  figures.push({ what: variant.what, ms: median(ms) });
  console.log(
    variant.what.padEnd(44),
    median(ms).toFixed(0).padStart(10),
    Math.min(...ms)
      .toFixed(0)
      .padStart(8),
    Math.max(...ms)
      .toFixed(0)
      .padStart(8),
    median(samples.map((s) => s.rssMb))
      .toFixed(0)
      .padStart(8),
    String(median(samples.map((s) => s.processes))).padStart(10),
  );
}
const gateway = figures[0];
if (gateway) {
  console.log(
    `\ntarget: the gateway answers within 1 s of its start → ${gateway.ms.toFixed(0)} ms (${gateway.ms <= 1000 ? 'met' : 'NOT met'})`,
  );
}
