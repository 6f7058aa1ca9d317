/** What every command needs: global options, a client, output in the chosen format, the exit code. */
import { ApprovalsApiError, ApprovalsClient } from '../../client/index.ts';
import { EXIT, type ExitCode, UsageError } from './errors.ts';
import { type CliIo, Progress } from './io.ts';

export const DEFAULT_URL = 'http://127.0.0.1:8787';

export interface GlobalOptions {
  readonly url?: string;
  readonly token?: string;
  readonly json?: boolean;
}

export class Runtime {
  readonly io: CliIo;
  exitCode: ExitCode = 0;
  #globals: GlobalOptions = {};
  #client: ApprovalsClient | undefined;

  constructor(io: CliIo) {
    this.io = io;
  }

  setGlobals(globals: GlobalOptions): void {
    this.#globals = globals;
    this.#client = undefined;
  }

  get json(): boolean {
    return this.#globals.json === true;
  }

  get url(): string {
    return this.#globals.url ?? nonEmpty(this.io.env.ALA_URL) ?? DEFAULT_URL;
  }

  get token(): string | undefined {
    return this.#globals.token ?? nonEmpty(this.io.env.ALA_TOKEN);
  }

  client(): ApprovalsClient {
    if (this.#client) return this.#client;
    try {
      this.#client = new ApprovalsClient({
        baseUrl: this.url,
        ...(this.token !== undefined ? { token: this.token } : {}),
        userAgent: 'ala-cli',
        // A person is waiting at the terminal: fail fast rather than back off for long.
        retry: { retries: 2, maxRetryAfterMs: 10_000 },
        // Short backoffs pass unnoticed; a wait a person would notice says what it waits for.
        onRetry: (notice) => {
          if (notice.delayMs < 1000) return;
          const call = `${notice.method} ${notice.path}`;
          const what =
            notice.error instanceof ApprovalsApiError
              ? `the gateway answered ${notice.error.status} ${notice.error.code} to ${call}`
              : `no answer from the gateway to ${call} (${notice.error.code.replaceAll('_', ' ')})`;
          this.note(
            `${what}; retrying in ${(notice.delayMs / 1000).toFixed(1)} s (retry ${notice.retry} of ${notice.retries})`,
          );
        },
      });
    } catch (error) {
      // The constructor's messages name the option; say which flag or variable to fix.
      const source = (error as Error).message.startsWith('token') ? '--token / ALA_TOKEN' : '--url / ALA_URL';
      throw new UsageError(`${source}: ${(error as Error).message}`);
    }
    return this.#client;
  }

  /** A line on stdout. */
  print(text: string): void {
    this.io.stdout.write(`${text}\n`);
  }

  /** A line on stderr: notes and progress that scripts reading stdout should not see. */
  note(text: string): void {
    if (!this.json) this.io.stderr.write(`${text}\n`);
  }

  /** The result: JSON with `--json`, the human rendering otherwise. */
  emit(value: unknown, human: () => string): void {
    this.print(this.json ? JSON.stringify(value, null, 2) : human());
  }

  /** Shows a wait on stderr: on a terminal always; in pipes as plain lines, except with --json. */
  progress(): Progress {
    return new Progress(this.io.stderr, this.json ? 'terminal' : 'auto');
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

/** Wraps a command body so that the exit code it returns is recorded on the runtime. */
export function run<A extends unknown[]>(
  runtime: Runtime,
  body: (...args: A) => Promise<ExitCode | undefined>,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    runtime.exitCode = (await body(...args)) ?? EXIT.ok;
  };
}
