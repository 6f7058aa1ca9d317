// Starting, probing, stopping and restarting DynamoDB Local and moto server.
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import {
  ENV,
  MOTO_ACCOUNT_ID,
  offlineAwsEnv,
  runDir,
  runId,
  startupTimeoutMs,
  TEST_CREDENTIALS,
  TEST_REGION,
  withEnv,
} from './env.ts';
import { freePort, LOOPBACK } from './ports.ts';
import { checkDynamoDbLocalInstall, checkJava, checkMotoInstall } from './prereqs.ts';
import { type ExitInfo, GuardedProcess, type StopOptions, tailFile } from './process.ts';

export type EmulatorKind = 'dynamodb-local' | 'moto';

export interface EmulatorHandle {
  readonly kind: EmulatorKind;
  /** "DynamoDB Local" / "moto server". */
  readonly name: string;
  readonly port: number;
  /** `http://127.0.0.1:<port>`; stays the same across stop/start/restart. */
  readonly endpoint: string;
  /** An emulator someone else started (reused via env): it cannot be stopped or restarted. */
  readonly external: boolean;
  /** pid of the running emulator process, if this harness owns one and it runs. */
  readonly pid: number | undefined;
  readonly running: boolean;
  /** How long the last start took, spawn to first successful API call (ms); 0 for external. */
  readonly startupMs: number;
  /** Emulator stdout+stderr (plus guard notes); undefined for external. */
  readonly logFile: string | undefined;
  /** Stops the emulator; `{ signal: 'SIGKILL' }` simulates a crash. It can be started again. */
  stop(options?: StopOptions): Promise<void>;
  /** Starts a stopped emulator again on the same port (clients keep working once it is up). */
  start(): Promise<void>;
  restart(options?: StopOptions): Promise<void>;
  /** SIGSTOP: the process stays, connections hang (a "slow/hung dependency"). */
  freeze(): void;
  /** SIGCONT after freeze(). */
  thaw(): void;
  /** Peak resident memory of the emulator process (Linux VmHWM), if known. */
  peakRssBytes(): number | undefined;
  logTail(lines?: number): string;
  /** Stops for good and removes its directory (logs, on-disk data) unless logs are to be kept. */
  dispose(): Promise<void>;
}

export class EmulatorStartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EmulatorStartError';
  }
}

interface EmulatorSpec {
  kind: EmulatorKind;
  name: string;
  /** Checks prerequisites; returns the command line for a port. */
  prepare(): Promise<
    (port: number, dir: string) => { command: string; args: string[]; env: Record<string, string> }
  >;
  probe(endpoint: string, signal: AbortSignal): Promise<void>;
  afterReady?(endpoint: string): Promise<void>;
}

const PORT_IN_USE = /address already in use|BindException|port \d+ is in use/i;
let instanceCounter = 0;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function errorText(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? ` (${error.cause.message})` : '';
    return `${error.name}: ${error.message}${cause}`;
  }
  return String(error);
}

export function readPeakRssBytes(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /^VmHWM:\s+(\d+)\s+kB/m.exec(status)?.[1];
    return kb === undefined ? undefined : Number(kb) * 1024;
  } catch {
    return undefined;
  }
}

class OwnedEmulator implements EmulatorHandle {
  readonly external = false;
  readonly name: string;
  readonly kind: EmulatorKind;
  port = 0;
  startupMs = 0;
  private proc: GuardedProcess | undefined;
  private lastPeakRss: number | undefined;
  private disposed = false;
  private crashed = false;
  private stopping = false;
  private frozen = false;

  constructor(
    private readonly spec: EmulatorSpec,
    private readonly commandFor: (
      port: number,
      dir: string,
    ) => { command: string; args: string[]; env: Record<string, string> },
    readonly dir: string,
    private readonly timeoutMs: number,
  ) {
    this.name = spec.name;
    this.kind = spec.kind;
  }

  get endpoint(): string {
    return `http://${LOOPBACK}:${this.port}`;
  }

  get pid(): number | undefined {
    return this.proc?.running === true ? this.proc.pid : undefined;
  }

  get running(): boolean {
    return this.proc?.running === true;
  }

  get logFile(): string {
    return join(this.dir, 'output.log');
  }

  /** First start: a fresh port, retried when another process grabs it first. */
  async startOnFreePort(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      this.port = await freePort();
      try {
        await this.start();
        return;
      } catch (error) {
        const portTaken = PORT_IN_USE.test(tailFile(this.logFile, 40));
        if (!portTaken || attempt >= 3) throw error;
      }
    }
  }

  async start(): Promise<void> {
    if (this.disposed) throw new Error(`${this.name} was disposed`);
    if (this.running) return;
    const { command, args, env } = this.commandFor(this.port, this.dir);
    const started = performance.now();
    const proc = await GuardedProcess.spawn({
      name: this.name,
      command,
      args,
      env,
      cwd: this.dir,
      logFile: this.logFile,
    });
    this.proc = proc;
    this.frozen = false;
    void proc.exited.then((info) => this.onExit(proc, info));
    try {
      await this.waitUntilReady(proc, started);
      await this.spec.afterReady?.(this.endpoint);
    } catch (error) {
      await this.stop({ signal: 'SIGKILL' });
      throw error;
    }
    this.startupMs = Math.round(performance.now() - started);
  }

  private onExit(proc: GuardedProcess, info: ExitInfo): void {
    if (this.proc === proc && !this.stopping) {
      this.crashed = true;
      process.stderr.write(
        `[harness] ${this.name} on ${this.endpoint} exited unexpectedly (code ${info.code}, signal ${info.signal}); log: ${this.logFile}\n`,
      );
    }
  }

  private async waitUntilReady(proc: GuardedProcess, started: number): Promise<void> {
    const deadline = started + this.timeoutMs;
    let lastError: unknown;
    for (;;) {
      if (!proc.running) {
        const info = proc.exit;
        throw new EmulatorStartError(
          `${this.name} exited while starting on port ${this.port} (code ${info?.code ?? null}, signal ${info?.signal ?? null}). Last output (${this.logFile}):\n${proc.tail(15)}`,
        );
      }
      try {
        await this.spec.probe(this.endpoint, AbortSignal.timeout(3000));
        if (proc.running) return;
      } catch (error) {
        lastError = error;
      }
      if (performance.now() > deadline) {
        throw new EmulatorStartError(
          `${this.name} did not answer on ${this.endpoint} within ${this.timeoutMs} ms (last probe error: ${errorText(lastError)}). Last output (${this.logFile}):\n${proc.tail(15)}`,
        );
      }
      await Promise.race([sleep(100), proc.exited]);
    }
  }

  async stop(options: StopOptions = {}): Promise<void> {
    const proc = this.proc;
    if (proc === undefined || !proc.running) return;
    this.lastPeakRss = readPeakRssBytes(proc.pid) ?? this.lastPeakRss;
    this.stopping = true;
    try {
      if (this.frozen) this.thaw(); // a stopped process would not act on SIGTERM
      await proc.stop(options);
    } finally {
      this.stopping = false;
    }
  }

  async restart(options: StopOptions = {}): Promise<void> {
    await this.stop(options);
    await this.start();
  }

  freeze(): void {
    this.requireProc().signal('SIGSTOP');
    this.frozen = true;
  }

  thaw(): void {
    this.requireProc().signal('SIGCONT');
    this.frozen = false;
  }

  private requireProc(): GuardedProcess {
    if (this.proc === undefined || !this.proc.running) throw new Error(`${this.name} is not running`);
    return this.proc;
  }

  peakRssBytes(): number | undefined {
    const pid = this.pid;
    return (pid === undefined ? undefined : readPeakRssBytes(pid)) ?? this.lastPeakRss;
  }

  logTail(lines = 20): string {
    return tailFile(this.logFile, lines);
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    await this.stop();
    this.disposed = true;
    if (!this.crashed && process.env[ENV.keepLogs] !== '1')
      rmSync(this.dir, { recursive: true, force: true });
  }
}

class ExternalEmulator implements EmulatorHandle {
  readonly external = true;
  readonly pid = undefined;
  readonly running = true;
  readonly startupMs = 0;
  readonly logFile = undefined;
  readonly port: number;

  constructor(
    readonly kind: EmulatorKind,
    readonly name: string,
    readonly endpoint: string,
  ) {
    this.port = Number(new URL(endpoint).port);
  }

  private refuse(): never {
    throw new Error(
      `${this.name} at ${this.endpoint} was not started by this harness (reused via env): it cannot be stopped or restarted; use startDynamoDbLocal() for an instance of your own`,
    );
  }

  async stop(): Promise<void> {
    this.refuse();
  }
  async start(): Promise<void> {
    this.refuse();
  }
  async restart(): Promise<void> {
    this.refuse();
  }
  freeze(): void {
    this.refuse();
  }
  thaw(): void {
    this.refuse();
  }
  peakRssBytes(): number | undefined {
    return undefined;
  }
  logTail(): string {
    return '(external emulator: no log)';
  }
  async dispose(): Promise<void> {}
}

// ---------------------------------------------------------------------------------------------
// DynamoDB Local

export const DYNAMODB_LOCAL_MAIN = 'software.amazon.dynamodb.services.local.main.ServerRunner';

/**
 * JVM options: small heap (tests hold little data), serial GC and C1 only (≈30 % faster start, less
 * memory on a 2-core machine), no hsperfdata files. Override/extend with ALA_TEST_DYNAMODB_JAVA_OPTS.
 */
export const DEFAULT_DYNAMODB_JAVA_OPTS: readonly string[] = [
  '-Xms32m',
  '-Xmx256m',
  '-Xss512k',
  '-XX:+UseSerialGC',
  '-XX:TieredStopAtLevel=1',
  '-XX:-UsePerfData',
  '-XX:+ExitOnOutOfMemoryError',
  '-Djava.awt.headless=true',
];

export interface DynamoDbLocalOptions {
  /** `memory` (default): `-inMemory`, data is gone after stop. `disk`: `-dbPath` in the instance
   *  directory, data survives stop/start/restart (for crash/recovery tests). */
  storage?: 'memory' | 'disk';
  /** Extra JVM options, after the defaults and ALA_TEST_DYNAMODB_JAVA_OPTS. */
  javaOpts?: readonly string[];
  startupTimeoutMs?: number;
}

function instanceDir(kind: EmulatorKind): string {
  instanceCounter += 1;
  const dir = join(runDir(), `${kind}-${process.pid}-${instanceCounter}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

function probeDynamoDb(endpoint: string, signal: AbortSignal): Promise<void> {
  const client = new DynamoDBClient({
    endpoint,
    region: TEST_REGION,
    credentials: { ...TEST_CREDENTIALS },
    maxAttempts: 1,
    requestHandler: { connectionTimeout: 1000, requestTimeout: 2500 },
  });
  return client
    .send(new ListTablesCommand({ Limit: 1 }), { abortSignal: signal })
    .then(() => undefined)
    .finally(() => client.destroy());
}

const dynamoDbSpec = (options: DynamoDbLocalOptions): EmulatorSpec => ({
  kind: 'dynamodb-local',
  name: 'DynamoDB Local',
  async prepare() {
    const libDir = checkDynamoDbLocalInstall();
    const java = await checkJava();
    const envOpts = (process.env[ENV.javaOpts] ?? '').split(/\s+/).filter((o) => o !== '');
    const storage = options.storage ?? 'memory';
    return (port, dir) => {
      const dataDir = join(dir, 'data');
      if (storage === 'disk') mkdirSync(dataDir, { recursive: true });
      return {
        command: java.command,
        args: [
          ...DEFAULT_DYNAMODB_JAVA_OPTS,
          ...envOpts,
          ...(options.javaOpts ?? []),
          `-Dala.test.run=${runId()}`,
          '-cp',
          join(libDir, '*'),
          DYNAMODB_LOCAL_MAIN,
          ...(storage === 'memory' ? ['-inMemory'] : ['-dbPath', dataDir]),
          '-sharedDb',
          '-port',
          String(port),
          '-disableTelemetry',
        ],
        // sqlite4java's native library is found through the JVM's native search path, which the
        // JVM takes from LD_LIBRARY_PATH on Linux.
        env: withEnv(process.env, {
          ...offlineAwsEnv({}),
          LD_LIBRARY_PATH: [libDir, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':'),
        }),
      };
    };
  },
  probe: probeDynamoDb,
});

// ---------------------------------------------------------------------------------------------
// moto server

/** Configuration POSTed to /moto-api/config: execute state machines, never use Docker for Lambda. */
export const MOTO_CONFIG = {
  stepfunctions: { execute_state_machine: true },
  lambda: { use_docker: false },
} as const;

export interface MotoServerOptions {
  startupTimeoutMs?: number;
}

async function probeMoto(endpoint: string, signal: AbortSignal): Promise<void> {
  const client = new STSClient({
    endpoint,
    region: TEST_REGION,
    credentials: { ...TEST_CREDENTIALS },
    maxAttempts: 1,
    requestHandler: { connectionTimeout: 1000, requestTimeout: 2500 },
  });
  try {
    const identity = await client.send(new GetCallerIdentityCommand({}), { abortSignal: signal });
    if (identity.Account !== MOTO_ACCOUNT_ID) {
      throw new Error(`unexpected account ${String(identity.Account)} from ${endpoint}: is this moto?`);
    }
  } finally {
    client.destroy();
  }
}

/** Enables Step Functions execution (and Docker-less Lambda) on a moto server. Idempotent. */
export async function configureMoto(endpoint: string): Promise<void> {
  const response = await fetch(`${endpoint}/moto-api/config`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(MOTO_CONFIG),
    signal: AbortSignal.timeout(5000),
  });
  if (!response.ok) {
    throw new Error(`POST ${endpoint}/moto-api/config answered ${response.status}: ${await response.text()}`);
  }
}

const motoSpec: EmulatorSpec = {
  kind: 'moto',
  name: 'moto server',
  async prepare() {
    const motoServer = checkMotoInstall();
    return (port) => ({
      command: motoServer,
      args: ['-H', LOOPBACK, '-p', String(port)],
      env: withEnv(process.env, {
        ...offlineAwsEnv({}),
        // moto's Step Functions interpreter calls the other services at localhost:$MOTO_PORT.
        MOTO_PORT: String(port),
        PYTHONUNBUFFERED: '1',
      }),
    });
  },
  probe: probeMoto,
  afterReady: configureMoto,
};

// ---------------------------------------------------------------------------------------------
// Public starters

async function startOwned(spec: EmulatorSpec, timeoutMs: number | undefined): Promise<OwnedEmulator> {
  const commandFor = await spec.prepare();
  const emulator = new OwnedEmulator(
    spec,
    commandFor,
    instanceDir(spec.kind),
    timeoutMs ?? startupTimeoutMs(),
  );
  try {
    await emulator.startOnFreePort();
  } catch (error) {
    await emulator.stop({ signal: 'SIGKILL' });
    throw error;
  }
  return emulator;
}

/**
 * Starts a DynamoDB Local of your own on a free port (≈1–2 s). Usable from a test file: stopping or
 * restarting it does not disturb the shared instance other tests use. It dies with the calling
 * process at the latest; call `dispose()` in afterAll.
 */
export function startDynamoDbLocal(options: DynamoDbLocalOptions = {}): Promise<EmulatorHandle> {
  return startOwned(dynamoDbSpec(options), options.startupTimeoutMs);
}

/** Starts a moto server of your own on a free port, with Step Functions execution enabled. */
export function startMotoServer(options: MotoServerOptions = {}): Promise<EmulatorHandle> {
  return startOwned(motoSpec, options.startupTimeoutMs);
}

/** Wraps an already-running emulator (e.g. from ALA_TEST_*_ENDPOINT) after checking that it answers. */
export async function connectExisting(kind: EmulatorKind, endpoint: string): Promise<EmulatorHandle> {
  const spec = kind === 'dynamodb-local' ? dynamoDbSpec({}) : motoSpec;
  try {
    await spec.probe(endpoint, AbortSignal.timeout(5000));
    await spec.afterReady?.(endpoint);
  } catch (error) {
    throw new EmulatorStartError(
      `${spec.name} at ${endpoint} (given by ${kind === 'moto' ? ENV.motoEndpoint : ENV.dynamodbEndpoint}) does not answer: ${errorText(error)}. Unset the variable to let the harness start one.`,
    );
  }
  return new ExternalEmulator(kind, spec.name, endpoint);
}
