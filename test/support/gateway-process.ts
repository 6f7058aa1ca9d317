/**
 * Runs the real local gateway from its sources (`functions/local/main.ts` through tsx, as
 * `npm run dev` does) as a child process; test/packaging/ covers the bundle `npm start` runs.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { signedBundleCopy, testKeys } from './signed-bundle.ts';

export const ROOT = resolve(import.meta.dirname, '..', '..');

export const PRINCIPALS = {
  agent: { id: 'agent:demo-exporter', token: 'e2e-agent-token-0123456789' },
  bob: { id: 'user:bob@example.gov', token: 'e2e-bob-token-0123456789' },
  carol: { id: 'user:carol@example.gov', token: 'e2e-carol-token-0123456789' },
  grace: { id: 'user:grace@example.gov', token: 'e2e-grace-token-0123456789' },
  mallory: { id: 'user:mallory@example.gov', token: 'e2e-mallory-token-0123456789' },
} as const;
export type Who = keyof typeof PRINCIPALS;

/** A config dir with known tokens and the default bundle, optionally with its data edited. */
export function gatewayConfig(
  editData?: (data: Record<string, unknown>) => void,
  logLevel: 'debug' | 'info' | 'warn' = 'warn',
  /** More config keys (e.g. `credentials`). */
  extra: Record<string, unknown> = {},
): string {
  const dir = mkdtempSync(join(tmpdir(), 'ala-e2e-'));
  // With configured principals the gateway loads only bundles signed with the operator's key.
  const keys = testKeys(dir);
  const bundle = signedBundleCopy(keys, editData, join(dir, 'bundle'));
  const config = {
    port: 0,
    dataDir: join(dir, 'data'),
    policy: { wasm: bundle.wasm, data: bundle.data, verificationKey: keys.publicKeyPath },
    principals: Object.values(PRINCIPALS),
    logLevel,
    ...extra,
  };
  writeFileSync(join(dir, 'gateway.json'), JSON.stringify(config, null, 2));
  return join(dir, 'gateway.json');
}

export interface GatewayProcess {
  readonly url: string;
  readonly child: ChildProcess;
  output(): string;
  /** Sends the signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  call(
    who: Who | null,
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<Response>;
}

// On Linux the gateway is started through `setpriv --pdeathsig KILL` (which execs it, so signals
// and exit codes are the gateway's own): if the test process is killed, the gateway dies with it.
const PDEATHSIG = spawnSync('setpriv', ['--help'], { stdio: 'ignore' }).status === 0;

export async function startGatewayProcess(configPath: string, timeoutMs = 30_000): Promise<GatewayProcess> {
  const gatewayArgs = ['--import', 'tsx', join(ROOT, 'functions/local/main.ts'), '--config', configPath];
  const child = spawn(
    PDEATHSIG ? 'setpriv' : process.execPath,
    PDEATHSIG ? ['--pdeathsig', 'KILL', process.execPath, ...gatewayArgs] : gatewayArgs,
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ALA_CONFIG: '' },
    },
  );
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | null>((resolveExit) => child.once('exit', (code) => resolveExit(code)));
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`gateway did not start in ${timeoutMs} ms:\n${output}`)),
      timeoutMs,
    );
    const check = () => {
      const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        resolveUrl(match[1]);
      }
    };
    child.stdout?.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited with ${code} before listening:\n${output}`));
    });
  });
  return {
    url,
    child,
    output: () => output,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
    call: (who, method, path, body, headers = {}) =>
      fetch(`${url}${path}`, {
        method,
        headers: {
          ...(who ? { authorization: `Bearer ${PRINCIPALS[who].token}` } : {}),
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...headers,
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      }).catch((error: unknown) => {
        // A refused or dropped connection: the gateway's own account says why (did it exit?).
        const state =
          child.exitCode !== null || child.signalCode !== null
            ? `exited (code ${child.exitCode}, signal ${child.signalCode})`
            : 'still running';
        throw new Error(
          `${method} ${path} failed; the gateway is ${state}; its output:\n${output.slice(-8000)}`,
          {
            cause: error,
          },
        );
      }),
  };
}
