// A command run under test/harness/guard.mjs: it dies with this process however this process ends.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { GUARD_SCRIPT, runId } from './env.ts';

export interface ExitInfo {
  code: number | null;
  signal: string | null;
}

export interface GuardedSpawnOptions {
  /** Human name used in messages ("DynamoDB Local"). */
  name: string;
  command: string;
  args: readonly string[];
  env: Record<string, string>;
  cwd?: string;
  /** stdout and stderr of the command (and the guard's own notes) are appended here. */
  logFile: string;
}

export interface StopOptions {
  /** SIGTERM (default) waits `graceMs` for a clean exit, then SIGKILLs; SIGKILL is immediate. */
  signal?: 'SIGTERM' | 'SIGKILL';
  graceMs?: number;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');

/** The last `lines` non-empty lines of a log file, without terminal colours. */
export function tailFile(path: string, lines = 20): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return '(no output)';
  }
  const kept = text
    .replace(ANSI, '')
    .split('\n')
    .filter((l) => l.trim() !== '');
  return kept.length === 0 ? '(no output)' : kept.slice(-lines).join('\n');
}

/** Processes still alive in this process, killed synchronously if this process exits. */
const live = new Set<GuardedProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const p of live) p.killNow();
  });
}

export class GuardedProcess {
  readonly name: string;
  readonly logFile: string;
  /** pid of the command itself (also its process group id). */
  readonly pid: number;
  /** Whether the command runs under `setpriv --pdeathsig KILL`. */
  readonly pdeathsig: boolean;
  /** Resolves when the guard (and so the command) has exited. */
  readonly exited: Promise<ExitInfo>;
  private readonly guard: ChildProcess;
  private exitInfo: ExitInfo | undefined;

  private constructor(
    options: GuardedSpawnOptions,
    guard: ChildProcess,
    pid: number,
    pdeathsig: boolean,
    exited: Promise<ExitInfo>,
  ) {
    this.name = options.name;
    this.logFile = options.logFile;
    this.guard = guard;
    this.pid = pid;
    this.pdeathsig = pdeathsig;
    this.exited = exited.then((info) => {
      this.exitInfo = info;
      live.delete(this);
      return info;
    });
  }

  /** Starts `command` under a guard; resolves once the command is running (not yet ready). */
  static spawn(options: GuardedSpawnOptions): Promise<GuardedProcess> {
    installExitHook();
    mkdirSync(dirname(options.logFile), { recursive: true });
    const fd = openSync(options.logFile, 'a');
    let guard: ChildProcess;
    try {
      guard = spawn(
        process.execPath,
        [GUARD_SCRIPT, String(process.pid), `run=${runId()}`, '--', options.command, ...options.args],
        { cwd: options.cwd, env: options.env, stdio: ['ignore', fd, fd, 'ipc'], serialization: 'json' },
      );
    } finally {
      closeSync(fd);
    }
    let lastExit: ExitInfo | undefined;
    const exited = new Promise<ExitInfo>((resolve) => {
      guard.once('exit', (code, signal) => resolve(lastExit ?? { code, signal }));
    });
    return new Promise<GuardedProcess>((resolve, reject) => {
      let settled = false;
      guard.on('message', (message: unknown) => {
        if (!isRecord(message)) return;
        if (message.type === 'exited') {
          lastExit = {
            code: typeof message.code === 'number' ? message.code : null,
            signal: typeof message.signal === 'string' ? message.signal : null,
          };
        } else if (message.type === 'started' && typeof message.pid === 'number' && !settled) {
          settled = true;
          const p = new GuardedProcess(options, guard, message.pid, message.pdeathsig === true, exited);
          live.add(p);
          p.unref();
          resolve(p);
        } else if (message.type === 'spawn-error' && !settled) {
          settled = true;
          reject(new Error(`${options.name}: ${String(message.message)}`));
        }
      });
      guard.once('error', (error) => {
        if (!settled) {
          settled = true;
          reject(new Error(`${options.name}: cannot start the guard process: ${error.message}`));
        }
      });
      void exited.then((info) => {
        if (!settled) {
          settled = true;
          reject(
            new Error(
              `${options.name}: exited before it started (code ${info.code}, signal ${info.signal})\n${tailFile(options.logFile)}`,
            ),
          );
        }
      });
    });
  }

  get running(): boolean {
    return this.exitInfo === undefined;
  }

  get exit(): ExitInfo | undefined {
    return this.exitInfo;
  }

  /** The guard's pid (for diagnostics). */
  get guardPid(): number | undefined {
    return this.guard.pid;
  }

  /** Stops the command (and its process group) and waits until the guard is gone. */
  async stop(options: StopOptions = {}): Promise<ExitInfo> {
    if (this.exitInfo !== undefined) return this.exitInfo;
    const signal = options.signal ?? 'SIGTERM';
    const graceMs = options.graceMs ?? 3000;
    this.ref();
    try {
      if (this.guard.connected) {
        this.guard.send({ type: 'stop', signal, graceMs });
      } else {
        this.killNow();
      }
      const timer = setTimeout(() => this.killNow(), graceMs + 5000);
      try {
        return await this.exited;
      } finally {
        clearTimeout(timer);
      }
    } finally {
      this.unref();
    }
  }

  /** Sends a signal to the command's process group directly (e.g. SIGSTOP/SIGCONT to freeze it). */
  signal(signal: NodeJS.Signals): void {
    if (this.exitInfo !== undefined) throw new Error(`${this.name} is not running`);
    try {
      process.kill(-this.pid, signal);
    } catch {
      process.kill(this.pid, signal);
    }
  }

  /** Synchronous SIGKILL of the command's group and of the guard; safe in an 'exit' handler. */
  killNow(): void {
    for (const target of [-this.pid, this.pid, this.guard.pid]) {
      if (target === undefined) continue;
      try {
        process.kill(target, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }

  tail(lines = 20): string {
    return tailFile(this.logFile, lines);
  }

  /** Do not keep the event loop alive for this process (tests that forget to stop it still end). */
  private unref(): void {
    this.guard.unref();
    this.guard.channel?.unref();
  }

  private ref(): void {
    this.guard.ref();
    this.guard.channel?.ref();
  }
}
